"""Bulk-loading a DataFrame's rows: PostgreSQL's binary COPY, built a column at a time (`copy_frame`);
executemany on other databases (SQLite: `insert_rows`).

Most columns the engine bulk-loads hold a few distinct values among tens of thousands of rows (rules,
indicators, places, periods, statuses, one time stamp): each distinct value is encoded once and the rows
take it by code. Psycopg's `write_row` encodes every field of every row in Python, which cost the alert
step more than a second for 89,000 alerts.

Field formats: https://www.postgresql.org/docs/15/sql-copy.html (binary format) and each type's `*_send`
function in PostgreSQL's source (int8send, float8send, date_send, timestamptz_send, textsend, jsonb_send).
"""

import json
import struct
from collections.abc import Callable, Iterator
from itertools import chain, repeat

import numpy as np
import pandas as pd
from django.db import connection

from monitoring.alerts.series_rows import (
    BINARY_HEADER,
    BINARY_TRAILER,
    MICROSECOND,
    NULL_FIELD,
    POSTGRES_EPOCH,
    POSTGRES_EPOCH_DAYS,
)

ROWS_PER_CHUNK = 10_000  # PostgreSQL stores one chunk while the next is joined


def _text(value) -> bytes:
    encoded = str(value).encode()
    return struct.pack(">i", len(encoded)) + encoded


LENGTH = struct.Struct(">i")
JSONB_VERSION = b"\x01"  # jsonb's binary format version, before the JSON text


def _jsonb(value) -> bytes:
    """JSON text as given (the engine builds it), or a Python value dumped; jsonb's format version first."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    encoded = JSONB_VERSION + text.encode()
    return LENGTH.pack(len(encoded)) + encoded


def _date(value) -> bytes:
    days = int(np.datetime64(value, "D").astype(np.int64)) - POSTGRES_EPOCH_DAYS
    return struct.pack(">ii", 4, days)


def _timestamptz(value) -> bytes:
    moment = pd.Timestamp(value)
    if moment.tzinfo is None:
        raise ValueError(f"a time stamp without a time zone: {value!r}")
    return struct.pack(">iq", 8, (moment.to_pydatetime() - POSTGRES_EPOCH) // MICROSECOND)


FIELD_ENCODERS: dict[str, Callable[[object], bytes]] = {
    "int8": lambda value: struct.pack(">iq", 8, int(value)),
    "int2": lambda value: struct.pack(">ih", 2, int(value)),
    "float8": lambda value: struct.pack(">id", 8, float(value)),
    "varchar": _text,
    "text": _text,
    "jsonb": _jsonb,
    "date": _date,
    "timestamptz": _timestamptz,
}


def _float_fields(values: pd.Series) -> list[bytes]:
    """Each row's float8 field, made by numpy for every row at once (numbers are mostly distinct: a score,
    a value); missing (NaN): NULL."""
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    block = np.empty((len(numbers), 12), dtype=np.uint8)
    block[:, :4] = np.frombuffer(LENGTH.pack(8), dtype=np.uint8)
    block[:, 4:] = numbers.astype(">f8").view(np.uint8).reshape(-1, 8)
    data = block.tobytes()
    fields = [data[start : start + 12] for start in range(0, len(data), 12)]
    for missing in np.flatnonzero(np.isnan(numbers)).tolist():
        fields[missing] = NULL_FIELD
    return fields


def _column_fields(values: pd.Series, pg_type: str) -> list[bytes]:
    """Each row's field bytes: every distinct value encoded once (missing ones: NULL). JSON is each row's
    own (and a dict has no hash), and so is a float."""
    encode = FIELD_ENCODERS[pg_type]
    if pg_type == "float8":
        return _float_fields(values)
    if pg_type == "jsonb":
        texts = values.tolist()
        if all(type(text) is str for text in texts):  # JSON texts the engine built: each encoded at C speed
            pack = LENGTH.pack
            return [pack(len(encoded) + 1) + JSONB_VERSION + encoded for encoded in map(str.encode, texts)]
        return [NULL_FIELD if value is None else encode(value) for value in texts]
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    encoded = np.array([*(encode(value) for value in uniques), NULL_FIELD], dtype=object)  # code -1: NULL
    return encoded[codes].tolist()


def copy_frame(frame: pd.DataFrame, columns: list[str], types: dict[str, str]) -> Iterator[bytes]:
    """The binary COPY data of `frame[columns]` (`types`: each column's PostgreSQL type), in chunks of rows.
    Missing values (None, NaN, NaT) are NULL; ids held as floats are written as integers."""
    yield BINARY_HEADER
    fields = [_column_fields(frame[column], types[column]) for column in columns]
    field_count = struct.pack(">h", len(columns))
    for first in range(0, len(frame), ROWS_PER_CHUNK):
        chunk = [column[first : first + ROWS_PER_CHUNK] for column in fields]
        yield b"".join(chain.from_iterable(zip(repeat(field_count, len(chunk[0])), *chunk, strict=True)))
    yield BINARY_TRAILER


def insert_rows(cursor, table: str, frame: pd.DataFrame, columns: list[str], types: dict[str, str]) -> None:
    """Insert `frame[columns]` into `table` with executemany, the values as SQLite stores them (`types`: each
    column's PostgreSQL type, as `copy_frame` takes it). On PostgreSQL rows go through `copy_frame`
    (`writes.QueuedWrites.load`)."""
    rows = zip(*(_python_values(frame[column], types[column]) for column in columns), strict=True)
    placeholders = ", ".join(["%s"] * len(columns))
    cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", list(rows))


def _python_values(values: pd.Series, pg_type: str) -> list:
    """A column as Python values for executemany (SQLite): None for missing, ints for integer columns
    (pandas holds ids as float when one row has none: a national score has no market), JSON as text;
    dates and time stamps as SQLite stores them."""
    if pg_type == "jsonb":
        return [value if isinstance(value, str) else json.dumps(value, ensure_ascii=False) for value in values]
    if pg_type == "timestamptz":
        stamps = {}  # a run writes one stamp: convert it once
        result = []
        for value in values:
            if value is None or pd.isna(value):
                result.append(None)
                continue
            if value not in stamps:
                stamps[value] = connection.ops.adapt_datetimefield_value(pd.Timestamp(value).to_pydatetime())
            result.append(stamps[value])
        return result
    if pg_type == "date":
        days = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
        return [None if pd.isna(day) else str(day) for day in days]
    missing = pd.isna(values).to_numpy()
    if pg_type in ("int8", "int2"):
        if not missing.any():
            return values.to_numpy(dtype=np.int64).tolist()
        numbers = values.to_numpy(dtype=float, na_value=np.nan).tolist()
        return [None if absent else int(number) for number, absent in zip(numbers, missing.tolist(), strict=True)]
    result = values.to_numpy(dtype=object)
    if missing.any():
        result = result.copy()
        result[missing] = None
    return result.tolist()
