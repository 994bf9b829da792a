"""Score rows (one per period) folded into series rows (one per series, its periods as parallel lists), and
those rows in the form each database loads fastest: PostgreSQL's binary COPY, built with numpy for every
element at once, or plain Python lists elsewhere.

Binary COPY format: https://www.postgresql.org/docs/15/sql-copy.html (binary format); arrays as
`array_send` writes them (src/backend/utils/adt/arrayfuncs.c): dimensions, a has-null flag, the element
type, then each element's length (-1 for NULL) and bytes.
"""

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

import numpy as np
import pandas as pd

from monitoring.alerts.models import TEXT_LIST_NULL, TEXT_LIST_SEPARATOR

# The series key and the per-series columns, in the order of the COPY (ScoreSeries' columns).
KEY_COLUMNS = ["rule_id", "indicator_id", "country_id", "place_key"]
SCALAR_COLUMNS = ["rule_id", "method", "indicator_id", "country_id", "region_id", "market_id", "place_key"]
# (ScoreSeries list field, score column, PostgreSQL element type; "text": a list of texts in one text, see
# `models.TEXT_LIST_SEPARATOR`)
LIST_COLUMNS = [
    ("periods", "period", "text"),
    ("period_starts", "period_start", "date"),
    ("scored_values", "value", "float8"),
    ("scores", "score", "float8"),
    ("method_classes", "method_class", "text"),
    ("levels", "level", "int2"),
    ("insufficient_reasons", "insufficient_reason", "text"),
]
WRITE_COLUMNS = [
    *SCALAR_COLUMNS,
    "inputs",
    "fingerprint",
    "computed_at",
    *(name for name, _column, _type in LIST_COLUMNS),
]
STORED_DECIMALS = 10  # values and scores are stored rounded (arithmetic noise beyond is not information)
# On PostgreSQL a missing value or score is stored as NaN and a missing level as this, never as NULL: every
# element of a list then has the same width, and numpy writes a chunk's elements in one block (with NULLs,
# five times as long). The score view reads them as NULL (migration 0014).
MISSING_LEVEL = -1
ELEMENT_OIDS = {"date": 1082, "float8": 701, "int2": 21}  # pg_type.oid
POSTGRES_EPOCH_DAYS = 10957  # 2000-01-01, PostgreSQL's epoch, in days after 1970-01-01
POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
NULL_FIELD = b"\xff\xff\xff\xff"
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, no header extension
BINARY_TRAILER = b"\xff\xff"


@dataclass
class SeriesRows:
    """Score rows grouped into series without moving them (the frame has millions of rows and a score of
    columns; copying it in order would cost more than the rest): `order` lists the frame's rows by series
    and, within a series, by period start and period; `starts` the position in `order` of each series'
    first row, plus the total at the end."""

    scores: pd.DataFrame
    order: np.ndarray
    starts: np.ndarray
    factorized: dict = field(default_factory=dict)  # column -> (codes in the frame's order, distinct values)

    @property
    def series_count(self) -> int:
        return len(self.starts) - 1

    @cached_property
    def first_rows(self) -> pd.DataFrame:
        """Each series' first row (read once: set the frame's per-series columns before)."""
        return self.scores.iloc[self.order[self.starts[:-1]]]

    def column(self, name: str) -> np.ndarray:
        """One column's values in series order."""
        return self.scores[name].to_numpy()[self.order]

    def codes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A text column as (codes in the frame's order, its distinct values; missing: code -1), computed
        once (the fingerprint and the COPY both read it)."""
        if name not in self.factorized:
            self.factorized[name] = pd.factorize(self.scores[name], use_na_sentinel=True)
        return self.factorized[name]

    def subset(self, keep: np.ndarray) -> "SeriesRows":
        """The series at the positions where `keep` is true."""
        counts = np.diff(self.starts)
        return SeriesRows(
            scores=self.scores,
            order=self.order[np.repeat(keep, counts)],
            starts=np.r_[0, np.cumsum(counts[keep])].astype(np.int64),
            factorized=self.factorized,
        )


def series_rows(scores: pd.DataFrame) -> SeriesRows:
    """Order score rows by series (codes and dates, not strings: a few hundred milliseconds for millions
    of rows)."""
    if scores.empty:
        return SeriesRows(scores=scores, order=np.zeros(0, np.int64), starts=np.zeros(1, np.int64))
    series_codes = scores.groupby(KEY_COLUMNS, sort=False).ngroup().to_numpy()
    period_codes, periods = pd.factorize(scores["period"], use_na_sentinel=True)
    period_ranks = np.argsort(np.argsort(np.asarray(periods, dtype=str)))[period_codes]  # text order
    period_days = scores["period_start"].to_numpy().astype("datetime64[D]").astype(np.int64)
    order = np.lexsort((period_ranks, period_days, series_codes))
    sorted_codes = series_codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    return SeriesRows(
        scores=scores,
        order=order,
        starts=np.r_[starts, len(order)],
        factorized={"period": (period_codes, periods)},
    )


# ------------------------------------------------------------------------------------------- PostgreSQL


def _element_block(payload: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every element as array_send writes it: its length (big-endian int32, -1 for NULL), then its bytes.
    `payload` holds each element's bytes left-aligned in a fixed width; returns the bytes of all elements
    end to end and each element's size."""
    count, width = payload.shape
    block = np.empty((count, 4 + width), dtype=np.uint8)
    block[:, :4] = lengths.astype(">i4").view(np.uint8).reshape(count, 4)
    block[:, 4:] = payload
    sizes = 4 + np.maximum(lengths, 0)
    if (sizes == 4 + width).all():
        return block.reshape(-1), sizes
    return block[np.arange(4 + width) < sizes[:, None]], sizes


def _fixed_payload(values: np.ndarray, present: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    encoded = np.where(present, values, 0).astype(dtype)
    width = encoded.dtype.itemsize
    lengths = np.where(present, width, -1).astype(np.int32)
    return encoded.view(np.uint8).reshape(len(encoded), width), lengths


def _text_fields(codes: np.ndarray, elements: np.ndarray, starts: np.ndarray, cache: dict) -> list[bytes]:
    """Each series' list of texts as one text field (a few distinct texts: periods, classes, reasons; given
    as codes into `elements`, each distinct text encoded once, the last one NULL): the field of a sequence
    of codes is joined once and kept in `cache` (the market series of a state report the same months)."""
    fields = []
    for begin, end in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
        series_codes = codes[begin:end]
        key = series_codes.tobytes()
        if (encoded := cache.get(key)) is None:
            joined = b"".join(elements[series_codes].tolist())
            encoded = cache[key] = struct.pack(">i", len(joined)) + joined
        fields.append(encoded)
    return fields


def _text_table(uniques) -> np.ndarray:
    """Distinct texts as elements of a text list (the separator, then UTF-8), and NULL last (code -1)."""
    separator, null = TEXT_LIST_SEPARATOR.encode(), TEXT_LIST_NULL.encode()
    encoded = [separator + text for text in (str(value).encode() for value in uniques)]
    if any(separator in text[1:] or null in text for text in encoded):
        raise ValueError(
            f"a score's period, class or reason holds U+{ord(TEXT_LIST_SEPARATOR):04X} or "
            f"U+{ord(TEXT_LIST_NULL):04X}, which separate the texts of a stored list"
        )
    return np.array([*encoded, separator + null], dtype=object)


def _list_columns(rows: SeriesRows) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """Each list column in series order, ready to be encoded a slice at a time: (element type, values or
    text codes, the distinct texts as list elements)."""
    columns = []
    for _name, column, element_type in LIST_COLUMNS:
        if element_type == "text":
            codes, uniques = rows.codes(column)
            columns.append((element_type, codes[rows.order], _text_table(uniques)))
        else:
            columns.append((element_type, rows.column(column), None))
    return columns


def _list_elements(element_type: str, values: np.ndarray) -> tuple[bytes, np.ndarray, np.ndarray]:
    """(all elements' bytes, each element's size, NULL mask) of a slice of a list column of numbers or
    dates."""
    if element_type == "date":
        days = values.astype("datetime64[D]").astype(np.int64) - POSTGRES_EPOCH_DAYS
        payload, lengths = _fixed_payload(days, ~pd.isna(values), ">i4")
    elif element_type == "float8":  # a missing number stays NaN (the view reads it as NULL)
        numbers = np.round(values.astype(float), STORED_DECIMALS)
        payload, lengths = _fixed_payload(numbers, np.ones(len(numbers), dtype=bool), ">f8")
    else:  # int2; a missing level is MISSING_LEVEL (the view reads it as NULL)
        numbers = values.astype(float)
        levels = np.where(np.isnan(numbers), MISSING_LEVEL, numbers).astype(np.int16)
        payload, lengths = _fixed_payload(levels, np.ones(len(levels), dtype=bool), ">i2")
    flat, sizes = _element_block(payload, lengths)
    return flat.tobytes(), sizes, lengths < 0


def _int8(value) -> bytes:
    return NULL_FIELD if value is None or pd.isna(value) else struct.pack(">iq", 8, int(value))


def _text(value: str, prefix: bytes = b"") -> bytes:
    encoded = prefix + value.encode()
    return struct.pack(">i", len(encoded)) + encoded


def copy_chunks(
    rows: SeriesRows, inputs: list[str], fingerprints: list[str], computed_at: datetime, series_per_chunk: int = 1000
) -> Iterator[bytes]:
    """The binary COPY for `WRITE_COLUMNS`, a chunk of series at a time: PostgreSQL stores one chunk while
    the next is encoded (a full recompute sends the lists of 2.4 million periods). The scalar fields per
    series in Python (thousands of rows), the list elements with numpy (millions) or, for texts, a
    series' sequence at a time."""
    yield BINARY_HEADER
    columns = _list_columns(rows)
    caches: list[dict] = [{} for _column in columns]  # per text column: the bytes of each sequence of codes
    stamp = struct.pack(">iq", 8, (computed_at - POSTGRES_EPOCH) // MICROSECOND)
    field_count = struct.pack(">h", len(WRITE_COLUMNS))
    first = rows.first_rows
    scalars = list(zip(*(first[column].tolist() for column in SCALAR_COLUMNS), strict=True))
    for chunk_first in range(0, rows.series_count, series_per_chunk):
        chunk_last = min(chunk_first + series_per_chunk, rows.series_count)
        element_first = int(rows.starts[chunk_first])
        starts = rows.starts[chunk_first : chunk_last + 1] - element_first
        element_last = element_first + int(starts[-1])
        counts = np.diff(starts)
        lists = []
        for (element_type, values, elements), cache in zip(columns, caches, strict=True):
            if element_type == "text":
                lists.append((_text_fields(values[element_first:element_last], elements, starts, cache), None, None))
                continue
            flat, sizes, nulls = _list_elements(element_type, values[element_first:element_last])
            ends = np.r_[0, np.cumsum(sizes)][starts].tolist()
            payloads = [flat[begin:end] for begin, end in zip(ends[:-1], ends[1:], strict=True)]
            has_null = np.logical_or.reduceat(nulls, starts[:-1])
            lists.append((payloads, has_null.tolist(), ELEMENT_OIDS[element_type]))
        parts = []
        for local, position in enumerate(range(chunk_first, chunk_last)):
            rule_id, method, indicator_id, country_id, region_id, market_id, place_key = scalars[position]
            parts += [
                field_count,
                _int8(rule_id),
                _text(method),
                _int8(indicator_id),
                _int8(country_id),
                _int8(region_id),
                _int8(market_id),
                _text(place_key),
                _text(inputs[position], prefix=b"\x01"),  # jsonb, format version 1
                _text(fingerprints[position]),
                stamp,
            ]
            count = int(counts[local])
            for payloads, has_null, oid in lists:
                payload = payloads[local]
                if oid is not None:  # an array: its header, then its elements
                    parts.append(struct.pack(">iiiiii", 20 + len(payload), 1, has_null[local], oid, count, 1))
                parts.append(payload)
        yield b"".join(parts)
    yield BINARY_TRAILER


# ----------------------------------------------------------------------------------------------- others


def python_rows(rows: SeriesRows, inputs: list[str], fingerprints: list[str], computed_at) -> list[tuple]:
    """The same rows as Python values for executemany (SQLite): lists as JSON text, missing numbers null."""
    columns = {}
    for _name, column, element_type in LIST_COLUMNS:
        values = rows.column(column)
        if element_type == "date":
            items = [None if pd.isna(value) else str(value)[:10] for value in values.astype("datetime64[D]")]
        elif element_type in ("float8", "int2"):
            numbers = np.round(values.astype(float), STORED_DECIMALS)
            # JSON has no infinity (SQLite would refuse to read the list): none is stored as missing.
            numbers[np.isinf(numbers)] = np.nan
            items = [
                None if np.isnan(number) else (int(number) if element_type == "int2" else float(number))
                for number in numbers
            ]
        else:
            items = [None if pd.isna(value) else str(value) for value in values]
        columns[column] = items
    first = rows.first_rows
    result = []
    for position, scalars in enumerate(zip(*(first[column].tolist() for column in SCALAR_COLUMNS), strict=True)):
        begin, end = int(rows.starts[position]), int(rows.starts[position + 1])
        result.append(
            (
                *(None if pd.isna(value) else value for value in scalars),
                inputs[position],
                fingerprints[position],
                computed_at,
                *(json.dumps(columns[column][begin:end]) for _name, column, _type in LIST_COLUMNS),
            )
        )
    return result
