"""PostgreSQL's binary COPY format, built column by column with numpy.

psycopg's `Copy.write_row` costs a Python call and a tuple per row: several seconds for the two and a half
million score rows of a full recompute. Here each column is encoded for all rows at once (numbers as
big-endian arrays; text through its distinct values), rows with the same layout become one numpy record
array, and the rows are written in blocks. The format (PostgreSQL manual, COPY, "Binary Format"): a
header, then per row the field count (int16) and per field its length (int32, -1 for NULL) and bytes.
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
    """The block's rows, grouped by layout: rows whose fields all have the same lengths (the same NULLs,
    texts of the same byte lengths) share one numpy record type, filled column by column and written
    whole. A handful of layouts cover a block (a few texts, a few NULL patterns); a table's rows have no
    order, so the groups are written one after the other."""
    fields = [_field(block[column], pgtype) for column, pgtype in zip(columns, types, strict=True)]
    layout = np.zeros(len(block), dtype=np.int64)
    for field_lengths, _values in fields:
        layout, _distinct = pd.factorize(layout * (int(field_lengths.max()) + 2) + field_lengths + 1)
    order = np.argsort(layout, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(layout[order]) != 0])
    parts = []
    for rows in np.split(order, starts[1:]):
        first = rows[0]
        spec = [("count", ">i2")]
        for number, (field_lengths, values) in enumerate(fields):
            spec.append((f"length{number}", ">i4"))
            if field_lengths[first] > 0:
                data_type = values.dtype.newbyteorder(">") if values.dtype.kind != "S" else f"S{field_lengths[first]}"
                spec.append((f"data{number}", data_type))
        record = np.empty(len(rows), dtype=np.dtype(spec))
        record["count"] = len(fields)
        for number, (field_lengths, values) in enumerate(fields):
            record[f"length{number}"] = field_lengths[first]
            if field_lengths[first] > 0:
                record[f"data{number}"] = values[rows]
        parts.append(record.tobytes())
    return b"".join(parts)


def _field(series: pd.Series, pgtype: str) -> tuple[np.ndarray, np.ndarray]:
    """(each row's length: -1 for NULL; each row's value: a big-endian number, or the text's bytes)."""
    if pgtype in FIXED_TYPES:
        values, missing = _fixed_values(series, pgtype)
        return np.where(missing, -1, values.dtype.itemsize), values
    texts = series.to_numpy(dtype=object)
    if pgtype != "jsonb" and pd.api.types.infer_dtype(texts, skipna=True) not in ("string", "empty"):
        # numbers or booleans in a text column: as their text (True, 1 and 1.0 must not share one value)
        texts = np.array([None if pd.isna(value) is True else str(value) for value in texts], dtype=object)
    try:
        codes, distinct = pd.factorize(texts, use_na_sentinel=True)
    except TypeError:  # JSON given as dicts or lists (unhashable): as text, row by row
        texts = np.array([None if pd.isna(value) is True else _json_text(value) for value in texts], dtype=object)
        codes, distinct = pd.factorize(texts, use_na_sentinel=True)
    if pgtype == "jsonb":  # jsonb's binary form: a version byte, then the JSON text
        encoded = [b"\x01" + _json_text(value).encode() for value in distinct]
    else:
        encoded = [str(value).encode() for value in distinct]
    if any(b"\x00" in value for value in encoded):
        raise ValueError(f"{series.name}: PostgreSQL text cannot hold the NUL character")
    encoded.append(b"")  # what a NULL row points at (code -1)
    distinct_lengths = np.array([len(value) for value in encoded], dtype=np.int64)
    lengths = np.where(codes < 0, -1, distinct_lengths[codes])
    return lengths, np.array(encoded, dtype=f"S{max(1, int(distinct_lengths.max()))}")[codes]


def _json_text(value) -> str:
    if isinstance(value, str):
        json.loads(value)  # refuse anything that is not JSON before it reaches the database
        return value
    return json.dumps(value, ensure_ascii=False)


def _fixed_values(series: pd.Series, pgtype: str) -> tuple[np.ndarray, np.ndarray]:
    """(big-endian values with 0 where missing, missing mask) of a fixed-width column."""
    dtype = FIXED_TYPES[pgtype]
    if pgtype == "date":
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            days = series.dt.tz_localize(None)  # the day where the moment is, not in UTC
        elif pd.api.types.is_datetime64_any_dtype(series.dtype):
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
        integers = series.to_numpy(dtype=np.int64, na_value=0)
    elif pd.api.types.is_float_dtype(series.dtype):  # ids held as float because a row has none
        numbers = series.to_numpy(dtype=float, na_value=0.0)
        if not np.all(np.isfinite(numbers)) or not np.array_equal(numbers, np.round(numbers)):
            raise ValueError(f"{series.name}: not whole numbers for {pgtype}")
        integers = numbers.astype(np.int64)
    else:  # Python ints (exact, whatever their size) and None
        try:
            integers = pd.array(series.to_numpy(dtype=object), dtype="Int64").to_numpy(dtype=np.int64, na_value=0)
        except (TypeError, ValueError) as refused:
            raise ValueError(f"{series.name}: not whole numbers for {pgtype}") from refused
    limits = np.iinfo(np.dtype(dtype))
    if len(integers) and (integers.min() < limits.min or integers.max() > limits.max):
        raise ValueError(f"{series.name}: a number out of range for {pgtype}")
    return integers.astype(dtype), missing


def _date_value(value):
    """Dates, datetimes and ISO text as pandas reads them; missing stays missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return pd.NaT
    if isinstance(value, date):
        return pd.Timestamp(value)
    return value
