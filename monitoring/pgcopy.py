"""PostgreSQL's binary COPY format, built column by column with numpy.

psycopg's `Copy.write_row` costs a Python call and a tuple per row: several seconds for the two and a half
million score rows of a full recompute. Here each column is encoded for all rows at once (fixed-width
values as big-endian arrays; text as codes into its distinct values, gathered into place), and the rows
are written in blocks. The format: https://www.postgresql.org/docs/current/sql-copy.html (Binary Format):
a header, then per row the field count (int16) and per field its length (int32, -1 for NULL) and bytes.
"""

import json
from collections.abc import Iterator
from datetime import date

import numpy as np
import pandas as pd

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags (no OIDs), no header extension
TRAILER = b"\xff\xff"
BLOCK_ROWS = 200_000
# PostgreSQL's binary dates count days, and timestamps microseconds, from 2000-01-01 (UTC).
EPOCH_DAY = np.datetime64("2000-01-01", "D")
EPOCH_MICROSECOND = np.datetime64("2000-01-01T00:00:00", "us")
FIXED_TYPES = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "date": ">i4", "timestamptz": ">i8"}
TEXT_TYPES = {"text", "varchar", "jsonb"}


def binary_copy_blocks(frame: pd.DataFrame, columns: list[str], types: list[str]) -> Iterator[bytes]:
    """The rows of `frame` (those `columns`, of PostgreSQL `types`) as binary COPY data, in blocks.
    Missing values (None, NaN, NaT, pd.NA) are NULL; jsonb takes JSON text or dicts and lists."""
    unknown = set(types) - FIXED_TYPES.keys() - TEXT_TYPES
    if unknown:
        raise ValueError(f"No binary encoding for {', '.join(sorted(unknown))}")
    yield HEADER
    for start in range(0, len(frame), BLOCK_ROWS):
        block = frame.iloc[start : start + BLOCK_ROWS]
        yield _block(block, columns, types)
    yield TRAILER


def _block(block: pd.DataFrame, columns: list[str], types: list[str]) -> bytes:
    rows = len(block)
    fields = [_field(block[column], pgtype) for column, pgtype in zip(columns, types, strict=True)]
    row_sizes = 2 + sum(4 + np.maximum(lengths, 0) for lengths, _data in fields)
    row_starts = np.cumsum(row_sizes) - row_sizes
    buffer = np.empty(int(row_sizes.sum()), dtype=np.uint8)
    _put(buffer, row_starts, np.full(rows, len(columns), dtype=">i2"))
    position = row_starts + 2
    for lengths, data in fields:
        _put(buffer, position, lengths.astype(">i4"))
        data(buffer, position + 4)
        position = position + 4 + np.maximum(lengths, 0)
    return buffer.tobytes()


def _put(buffer: np.ndarray, positions: np.ndarray, values: np.ndarray) -> None:
    """Write each row's fixed-width big-endian value at its byte position."""
    width = values.dtype.itemsize
    buffer[positions[:, None] + np.arange(width)] = values.view(np.uint8).reshape(-1, width)


def _field(series: pd.Series, pgtype: str):
    """(lengths: int array, -1 for NULL; a function writing the values at given positions)."""
    if pgtype in FIXED_TYPES:
        values, missing = _fixed_values(series, pgtype)
        width = values.dtype.itemsize
        lengths = np.where(missing, -1, width)
        present = ~missing

        def write(buffer: np.ndarray, positions: np.ndarray) -> None:
            _put(buffer, positions[present], values[present])

        return lengths, write
    missing = pd.isna(series).to_numpy()
    texts = np.where(missing, None, series.to_numpy(dtype=object))
    if pgtype == "jsonb" and not all(isinstance(value, str) for value in texts[~missing]):
        texts = np.array([None if gone else _json_text(value) for value, gone in zip(texts, missing, strict=True)])
    codes, distinct = pd.factorize(pd.Series(texts, dtype=object), use_na_sentinel=True)
    if pgtype == "jsonb":  # jsonb's binary form: a version byte, then the JSON text
        encoded = [b"\x01" + _json_text(value).encode() for value in distinct]
    else:
        encoded = [str(value).encode() for value in distinct]
    distinct_lengths = np.array([len(value) for value in encoded], dtype=np.int64)
    distinct_starts = np.cumsum(distinct_lengths) - distinct_lengths
    joined = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    lengths = np.full(len(codes), -1, dtype=np.int64)
    lengths[codes >= 0] = distinct_lengths[codes[codes >= 0]]

    def write(buffer: np.ndarray, positions: np.ndarray) -> None:
        sizes = np.maximum(lengths, 0)
        total = int(sizes.sum())
        if not total:
            return
        row_of_byte = np.repeat(np.arange(len(sizes)), sizes)
        within = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        buffer[positions[row_of_byte] + within] = joined[distinct_starts[codes[row_of_byte]] + within]

    return lengths, write


def _json_text(value) -> str:
    if isinstance(value, str):
        json.loads(value)  # refuse anything that is not JSON before it reaches the database
        return value
    return json.dumps(value, ensure_ascii=False)


def _fixed_values(series: pd.Series, pgtype: str) -> tuple[np.ndarray, np.ndarray]:
    """(big-endian values with 0 where missing, missing mask) of a fixed-width column."""
    dtype = FIXED_TYPES[pgtype]
    if pgtype == "date":
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            days = series
        else:
            days = pd.to_datetime(pd.Series(series.to_numpy(dtype=object)).map(_date_value), errors="raise")
        missing = days.isna().to_numpy()
        values = (days.to_numpy(dtype="datetime64[D]") - EPOCH_DAY).astype(np.int64)
        return np.where(missing, 0, values).astype(dtype), missing
    if pgtype == "timestamptz":
        moments = pd.to_datetime(series, utc=True)
        missing = moments.isna().to_numpy()
        micros = moments.dt.tz_localize(None).to_numpy(dtype="datetime64[us]") - EPOCH_MICROSECOND
        return np.where(missing, 0, micros.astype(np.int64)).astype(dtype), missing
    missing = pd.isna(series).to_numpy()
    if pgtype == "float8":
        numbers = pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        return np.where(missing, 0.0, numbers).astype(dtype), missing
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.to_numpy(dtype=np.int64, na_value=0).astype(dtype), missing
    numbers = pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    whole = numbers[~missing]
    if len(whole) and not np.array_equal(whole, np.round(whole)):
        raise ValueError(f"{series.name}: not whole numbers for {pgtype}")
    return np.where(missing, 0, numbers).astype(np.int64).astype(dtype), missing


def _date_value(value):
    """Dates, datetimes and ISO text as pandas reads them; missing stays missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return pd.NaT
    if isinstance(value, date):
        return pd.Timestamp(value)
    return value
