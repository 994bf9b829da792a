"""The engine bulk-loads alerts and its temporary tables (`QueuedWrites.load`) as binary COPY on PostgreSQL
(`copy_rows.copy_frame`), and with executemany on SQLite: every type it writes must come back as it went
in, missing values as NULL."""

import json
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from django.db import connection

from monitoring.alerts import copy_rows
from monitoring.alerts.engine import COPY_TYPES
from monitoring.alerts.writes import QueuedWrites

pytestmark = pytest.mark.django_db

STAMP = datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC)


def test_every_column_type_reads_back_as_written(monkeypatch):
    # given rows of every type the engine loads: ids with a missing one (held as floats by pandas), a small
    # integer, a float with many decimals and a missing one, texts with quotes, a backslash, Cyrillic and an
    # empty one, JSON given as text and as a dict, dates and time stamps (one missing)
    monkeypatch.setattr(copy_rows, "ROWS_PER_CHUNK", 2)  # three rows: two chunks
    rows = pd.DataFrame(
        {
            "market_id": [3.0, np.nan, 12.0],
            "level": [0, 3, 2],
            "score": [0.1 + 0.2, np.nan, -2.5e-7],
            "place_key": ['market:du "7", north', "", "Ош\\юг"],
            "inputs": ['{"value": 38.5, "prices": "real"}', {"value": None, "flag": "<"}, "{}"],
            "period_start": pd.to_datetime(["2023-01-01", "1999-12-01", "2024-02-29"]),
            "raised_at": STAMP,
            "resolved_at": np.array([STAMP, None, STAMP], dtype=object),
        }
    )
    columns = list(rows.columns)
    vendor_json = "jsonb" if connection.vendor == "postgresql" else "text"
    vendor_stamp = "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"

    # when they are bulk-loaded and read back
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE tmp_loaded (market_id bigint, level smallint, score double precision, "
            f"place_key varchar(80), inputs {vendor_json}, period_start date, raised_at {vendor_stamp}, "
            f"resolved_at {vendor_stamp})"
        )
        with QueuedWrites(COPY_TYPES) as writes:
            writes.load("tmp_loaded", rows, columns)
        cursor.execute(f"SELECT {', '.join(columns)} FROM tmp_loaded")
        loaded = cursor.fetchall()
        cursor.execute("DROP TABLE tmp_loaded")

    # then every value is back, exactly, and the missing ones are NULL
    def comparable(row):
        market_id, level, score, place_key, inputs, period_start, raised_at, resolved_at = row
        if isinstance(inputs, str):
            inputs = json.loads(inputs)
        as_date = period_start if isinstance(period_start, date) else date.fromisoformat(period_start)
        as_stamps = [
            None if stamp is None else _aware(stamp if isinstance(stamp, datetime) else datetime.fromisoformat(stamp))
            for stamp in (raised_at, resolved_at)
        ]
        return (market_id, level, score, place_key, inputs, as_date, *as_stamps)

    assert sorted((comparable(row) for row in loaded), key=lambda row: row[3]) == [
        (None, 3, None, "", {"value": None, "flag": "<"}, date(1999, 12, 1), STAMP, None),
        (3, 0, 0.1 + 0.2, 'market:du "7", north', {"value": 38.5, "prices": "real"}, date(2023, 1, 1), STAMP, STAMP),
        (12, 2, -2.5e-7, "Ош\\юг", {}, date(2024, 2, 29), STAMP, STAMP),
    ]


def _aware(stamp: datetime) -> datetime:
    """SQLite keeps time stamps in UTC without their zone (Django's USE_TZ)."""
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def test_a_time_stamp_without_a_time_zone_is_refused():
    # given a naive time stamp (a timestamptz column would take it as the server's local time)
    rows = pd.DataFrame({"raised_at": [datetime(2026, 11, 28, 1, 2, 3)]})

    # when it is encoded for COPY, then it is refused, naming the value
    with pytest.raises(ValueError, match="without a time zone"):
        list(copy_rows.copy_frame(rows, ["raised_at"], {"raised_at": "timestamptz"}))


def test_json_texts_and_distinct_floats_read_back_as_written():
    # given the engine's own rows: every JSON given as text (Cyrillic, escapes), every score distinct, among
    # them a missing one and an infinite one
    rows = pd.DataFrame(
        {
            "position": [1, 2, 3, 4],
            "score": [1 / 3, np.nan, float("inf"), 0.0],
            "inputs": ['{"place_ru": "Ош"}', '{"note": "a \\"quoted\\" \\\\ text"}', "{}", '{"value": 1e-07}'],
        }
    )
    vendor_json = "jsonb" if connection.vendor == "postgresql" else "text"

    # when they are bulk-loaded and read back
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE tmp_loaded (position bigint, score double precision, inputs {vendor_json})"
        )
        with QueuedWrites({**COPY_TYPES, "position": "int8"}) as writes:
            writes.load("tmp_loaded", rows, ["position", "score", "inputs"])
        cursor.execute("SELECT score, inputs FROM tmp_loaded ORDER BY position")
        loaded = [(score, inputs if isinstance(inputs, dict) else json.loads(inputs)) for score, inputs in cursor]
        cursor.execute("DROP TABLE tmp_loaded")

    # then each comes back exactly: the missing score as NULL, the JSON as the same object
    assert loaded[0] == (1 / 3, {"place_ru": "Ош"})
    assert loaded[1] == (None, {"note": 'a "quoted" \\ text'})
    assert loaded[2][0] == float("inf") and loaded[3] == (0.0, {"value": 1e-07})
