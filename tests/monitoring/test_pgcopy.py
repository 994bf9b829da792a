"""The numpy-built binary COPY (monitoring/pgcopy.py) against PostgreSQL itself: every type the engine
writes, with NULLs, non-ASCII text and JSON, comes back from the database exactly as given."""

import json
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from django.db import connection

from monitoring import pgcopy
from tests.conftest import require_service

pytestmark = [pytest.mark.services, pytest.mark.django_db]

COLUMNS = ["id8", "level", "value", "day", "moment", "label", "note", "inputs"]
TYPES = ["int8", "int2", "float8", "date", "timestamptz", "varchar", "text", "jsonb"]


def _round_trip(frame: pd.DataFrame, types: list[str] = TYPES) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE copy_check (position serial, id8 bigint, level smallint, value double precision, "
            "day date, moment timestamptz, label varchar(40), note text, inputs jsonb)"
        )
        raw = cursor.cursor
        with raw.copy(f"COPY copy_check ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            for block in pgcopy.binary_copy_blocks(frame, COLUMNS, types):
                copy.write(block)
        cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM copy_check ORDER BY position")
        rows = cursor.fetchall()
        cursor.execute("DROP TABLE copy_check")
    # Django reads jsonb as its text (JSONField decodes it); decode here to compare values. Rows arrive
    # grouped by layout (a table has no order): compare them in a fixed order.
    return sorted(((*row[:-1], None if row[-1] is None else json.loads(row[-1])) for row in rows), key=repr)


def test_every_type_with_nulls_round_trips_through_postgresql():
    require_service(connection.vendor == "postgresql", "binary COPY is PostgreSQL's (set DATABASE_URL)")
    # given rows with every type, a NULL in each column, non-ASCII text and JSON as text and as a dict
    moment = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            "id8": pd.array([1, None, 9_007_199_254_740_993], dtype="Int64"),  # beyond float precision
            "level": pd.array([0, 3, None], dtype="Int64"),
            "value": [1.5, np.nan, -1e-12],
            "day": pd.to_datetime(["1999-12-31", None, "2024-02-29"]),
            "moment": pd.Series([moment, pd.NaT, pd.Timestamp("1990-01-01", tz="UTC")]),
            "label": ["market:ош", "", None],
            "note": [None, "цена выросла на 38%", "tab\tand\nnewline"],
            "inputs": ['{"prices": "real"}', None, {"мин": 1, "list": [1, 2]}],
        }
    )
    # when
    rows = _round_trip(frame)
    # then
    assert rows == sorted(
        [
            (1, 0, 1.5, date(1999, 12, 31), moment, "market:ош", None, {"prices": "real"}),
            (None, 3, None, None, None, "", "цена выросла на 38%", None),
            (
                9_007_199_254_740_993,
                None,
                -1e-12,
                date(2024, 2, 29),
                datetime(1990, 1, 1, tzinfo=UTC),
                None,
                "tab\tand\nnewline",
                {"мин": 1, "list": [1, 2]},
            ),
        ],
        key=repr,
    )


def test_rows_beyond_one_block_all_arrive(monkeypatch):
    require_service(connection.vendor == "postgresql", "binary COPY is PostgreSQL's (set DATABASE_URL)")
    # given five rows written in blocks of two
    monkeypatch.setattr(pgcopy, "BLOCK_ROWS", 2)
    frame = pd.DataFrame(
        {
            "id8": range(5),
            "level": [1] * 5,
            "value": [0.1 * n for n in range(5)],
            "day": [date(2020, 1, n + 1) for n in range(5)],
            "moment": [datetime(2020, 1, 1, tzinfo=UTC)] * 5,
            "label": [f"p{n}" for n in range(5)],
            "note": ["x"] * 5,
            "inputs": ["{}"] * 5,
        }
    )
    # when
    rows = _round_trip(frame)
    # then
    assert sorted((row[0], row[2], row[3], row[5]) for row in rows) == [
        (n, 0.1 * n, date(2020, 1, n + 1), f"p{n}") for n in range(5)
    ]


def test_an_id_column_pandas_holds_as_float_is_written_as_integers():
    require_service(connection.vendor == "postgresql", "binary COPY is PostgreSQL's (set DATABASE_URL)")
    # given ids held as float because one row has none (a national score has no market): floats made the
    # COPY fail on PostgreSQL with the demo data once
    frame = pd.DataFrame({column: [None] * 3 for column in COLUMNS})
    frame["id8"] = [3.0, float("nan"), 12.0]
    # when
    rows = _round_trip(frame)
    # then
    ids = [row[0] for row in rows]
    assert sorted(value for value in ids if value is not None) == [3, 12]
    assert ids.count(None) == 1


@pytest.mark.parametrize(
    ("values", "pgtype", "reason"),
    [
        ([1.5], "int2", "whole numbers"),
        ([float("inf")], "int8", "whole numbers"),
        ([40_000], "int2", "out of range"),
        ([2**31 + 5], "int4", "out of range"),
        (["seven"], "int8", "whole numbers"),
    ],
)
def test_a_number_an_integer_column_cannot_hold_is_refused(values, pgtype, reason):
    with pytest.raises(ValueError, match=reason):
        list(pgcopy.binary_copy_blocks(pd.DataFrame({"level": values}), ["level"], [pgtype]))


def test_large_python_ints_beside_none_and_local_days_and_mixed_text_keep_their_values():
    require_service(connection.vendor == "postgresql", "binary COPY is PostgreSQL's (set DATABASE_URL)")
    # given Python ints beyond float precision beside None, a day given as a local midnight (Almaty), and
    # a text column of True, 1 and 1.0 (three texts, not one)
    frame = pd.DataFrame({column: [None] * 3 for column in COLUMNS})
    frame["id8"] = pd.Series([2**60 + 1, None, 7], dtype=object)
    frame["day"] = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])).dt.tz_localize("Asia/Almaty")
    frame["label"] = pd.Series([True, 1, 1.0], dtype=object)
    # when
    rows = _round_trip(frame)
    # then
    assert sorted((row[0] or 0, row[3], row[5]) for row in rows) == [
        (0, date(2024, 1, 2), "1"),
        (7, date(2024, 1, 3), "1.0"),
        (2**60 + 1, date(2024, 1, 1), "True"),
    ]


def test_text_that_is_not_json_is_refused_before_the_database():
    # given
    frame = pd.DataFrame({"inputs": ["{not json"]})
    # when / then
    with pytest.raises(ValueError):
        b"".join(pgcopy.binary_copy_blocks(frame, ["inputs"], ["jsonb"]))


def test_text_with_a_nul_character_is_refused_naming_the_column():
    with pytest.raises(ValueError, match="note"):
        list(pgcopy.binary_copy_blocks(pd.DataFrame({"note": ["a\x00b"]}), ["note"], ["text"]))


def test_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="interval"):
        list(pgcopy.binary_copy_blocks(pd.DataFrame({"a": [1]}), ["a"], ["interval"]))
