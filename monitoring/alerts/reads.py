"""A run's approved observations, an indicator at a time, read by a thread of their own while the engine
scores the indicators read before.

A full recompute reads a million prices. PostgreSQL spends a second or more writing them out, and the
engine spent that second waiting before its first method could start. Read an indicator at a time, in the
order the rules need them, the engine waits for the first indicator only: the server writes out the next
ones while the methods run.

The rules that keep this safe:
- The thread reads on a connection of its own, in one read-only REPEATABLE READ transaction: every
  indicator is read from the same snapshot, as one query would read them.
- Only a run that is its own transaction reads this way (the Celery tasks, `compute_alerts`): a caller's
  transaction around a run may hold observations another connection cannot see, so then, as on SQLite
  and for an incremental run's few series, everything is read at once, on the run's connection.
- A failed read is raised in the engine when it asks for that indicator (or any after it).
- When the engine stops (an error, Celery's soft time limit), the query in flight is cancelled and the
  thread stops, and the run ends only once it has stopped and closed its connection.
"""

import contextlib
import struct
import threading
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from django.db import connection, transaction

from monitoring.alerts.models import TEXT_LIST_SEPARATOR
from monitoring.alerts.series_rows import BINARY_HEADER, BINARY_TRAILER, POSTGRES_EPOCH_DAYS

# The columns that tie a place to its region and market (a series inherits them from its input).
PLACE_COLUMNS = ["country_id", "place_key", "region_id", "market_id"]


class ObservationReader:
    """`with ObservationReader(read, indicator_ids, threaded=...) as observations:` the frame of each
    indicator, read with `read(indicator_ids)` (a function returning the approved observations of those
    indicators as a DataFrame); `get(pk)` waits for it. `indicator_ids`: in the order the run needs them."""

    def __init__(self, read: Callable[[list[int]], pd.DataFrame], indicator_ids: list[int], *, threaded: bool):
        self.read = read
        self.indicator_ids = list(dict.fromkeys(indicator_ids))
        self.threaded = threaded and bool(self.indicator_ids)
        self.count = 0  # observations read
        self.waited = 0.0  # seconds the engine spent reading or waiting for a read
        self._frames: dict[int, pd.DataFrame] = {}
        self._done: set[int] = set()  # indicators read, with rows or without
        self._places: dict[int, pd.DataFrame] = {}
        self._ready = {pk: threading.Event() for pk in self.indicator_ids}
        self._error: BaseException | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._reading_connection = None  # the thread's psycopg connection (to cancel its query)

    def __enter__(self) -> "ObservationReader":
        if self.threaded:
            self._thread = threading.Thread(target=self._work, name="alert-engine-reads", daemon=True)
            self._thread.start()
            return self
        started = time.perf_counter()
        if self.indicator_ids:
            for pk, frame in self.read(self.indicator_ids).groupby("indicator_id", sort=False):
                self._keep(int(pk), frame)
        for event in self._ready.values():
            event.set()
        self.waited += time.perf_counter() - started
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self._thread is None:
            return
        self._stopping = True
        if exc_type is not None and self._reading_connection is not None:
            # The engine failed: the query in flight is cancelled (it may be waiting on a lock).
            with contextlib.suppress(Exception):  # nothing left to cancel
                self._reading_connection.cancel_safe()
        interrupt = None
        while self._thread.is_alive():
            try:
                self._thread.join()
            except BaseException as error:  # a second interrupt: raised once the thread has stopped
                interrupt = interrupt or error
        if interrupt is not None:
            raise interrupt

    # ------------------------------------------------------------------------------------ reading

    def get(self, pk: int, default: pd.DataFrame | None = None) -> pd.DataFrame | None:
        """The approved observations of indicator `pk` (`default` when it has none), once read."""
        frame = self._frame(pk)
        return default if frame is None else frame

    def __contains__(self, pk: int) -> bool:
        return self._frame(pk) is not None

    def __getitem__(self, pk: int) -> pd.DataFrame:
        frame = self._frame(pk)
        if frame is None:
            raise KeyError(pk)
        return frame

    def places(self, indicator_ids) -> pd.DataFrame:
        """The region and market of each (country, place) the indicators' observations name."""
        frames = [self._places[pk] for pk in dict.fromkeys(indicator_ids) if self._frame(pk) is not None]
        if not frames:
            return pd.DataFrame(columns=PLACE_COLUMNS)
        return pd.concat(frames, ignore_index=True).drop_duplicates(PLACE_COLUMNS[:2])

    # ------------------------------------------------------------------------------------ internals

    def _frame(self, pk: int) -> pd.DataFrame | None:
        event = self._ready.get(pk)
        if event is None:  # not read by this run
            return None
        if not event.is_set():
            started = time.perf_counter()
            event.wait()
            self.waited += time.perf_counter() - started
        if pk not in self._done and self._error is not None:
            with connection.wrap_database_errors:  # as Django raises database errors
                raise self._error
        return self._frames.get(pk)

    def _keep(self, pk: int, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        self._frames[pk] = frame
        self._places[pk] = frame[PLACE_COLUMNS].drop_duplicates(PLACE_COLUMNS[:2])
        self.count += len(frame)

    def _work(self) -> None:
        """The thread: each indicator in turn, from one snapshot, on the thread's own connection."""
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                self._reading_connection = connection.connection
                for pk in self.indicator_ids:
                    if self._stopping:
                        break
                    self._keep(pk, self.read([pk]))
                    self._done.add(pk)
                    self._ready[pk].set()
        # Any failure is the engine's to raise when it asks for an indicator, not this thread's to handle.
        except BaseException as error:
            self._error = error
        finally:
            for event in self._ready.values():
                event.set()
            connection.close()


# ----------------------------------------------------------------------------------------- PostgreSQL

# Observations are read an indicator per row, each column's values gathered in one field (numbers as
# arrays, texts joined by a separator), in binary COPY. PostgreSQL sends a COPY row per message: a million
# rows cost the engine a second of Python before its first method could start; an indicator's row costs
# next to nothing, and numpy reads its arrays. The server's own work is about the same.
INDICATOR_COPY = (
    "COPY (SELECT array_agg(indicator_id), array_agg(country_id), array_agg(coalesce(region_id, -1)), "
    "array_agg(coalesce(market_id, -1)), string_agg(place_key, {separator}), string_agg(period, {separator}), "
    "array_agg(period_start), array_agg(value), string_agg(flag, {separator}) FROM ({query}) AS observations "
    "GROUP BY indicator_id) TO STDOUT (FORMAT BINARY)"
)
SEPARATOR = TEXT_LIST_SEPARATOR  # not in a place key, period or flag (checked on reading)
INT4 = struct.Struct(">i")
ARRAY_HEADER = struct.Struct(">iiiii")  # dimensions, has NULLs, element type, length, lower bound
# Array elements, each its length (int32) then its value.
ELEMENTS = {
    "int8": np.dtype([("length", ">i4"), ("value", ">i8")]),
    "date": np.dtype([("length", ">i4"), ("value", ">i4")]),  # days after 2000-01-01
    "float8": np.dtype([("length", ">i4"), ("value", ">f8")]),
}
# (column, how it comes: an array element type or "text")
INDICATOR_COLUMNS = [
    ("indicator_id", "int8"),
    ("country_id", "int8"),
    ("region_id", "int8"),
    ("market_id", "int8"),
    ("place_key", "text"),
    ("period", "text"),
    ("period_start", "date"),
    ("value", "float8"),
    ("flag", "text"),
]


def indicator_copy_frame(cursor, query: str, params) -> pd.DataFrame:
    """The rows of `query` (columns indicator_id, country_id, region_id, market_id, place_key, period,
    period_start, value, flag; none NULL but region_id and market_id), read an indicator per COPY row
    through `cursor` (psycopg's), as a DataFrame of those columns with an indicator's rows together."""
    statement = INDICATOR_COPY.format(query=query, separator=f"E'\\x{ord(SEPARATOR):02x}'")
    with cursor.copy(statement, params) as copy:
        data = b"".join(copy)
    columns: dict[str, list[np.ndarray]] = {name: [] for name, _kind in INDICATOR_COLUMNS}
    position = len(BINARY_HEADER)
    while data[position : position + 2] != BINARY_TRAILER:
        position += 2  # the field count
        count = None
        for name, kind in INDICATOR_COLUMNS:
            (length,) = INT4.unpack_from(data, position)
            position += 4
            if kind == "text":
                values = np.array(data[position : position + length].decode().split(SEPARATOR), dtype=object)
            else:
                values = _array(data, position, ELEMENTS[kind])
            if count is not None and len(values) != count:  # a separator inside a text
                raise ValueError(f"the observations' {name} column holds the character U+{ord(SEPARATOR):04X}")
            count = len(values)
            columns[name].append(values)
            position += length
    frame = pd.DataFrame(
        {name: np.concatenate(parts) if parts else np.zeros(0, dtype=object) for name, parts in columns.items()}
    )
    for name in ("region_id", "market_id"):  # -1: none; whole numbers where every row has one (as in CSV)
        ids = frame[name].to_numpy(dtype=np.int64)
        frame[name] = ids if (ids >= 0).all() else np.where(ids >= 0, ids, np.nan)
    days = frame["period_start"].to_numpy(dtype=np.int64) + POSTGRES_EPOCH_DAYS
    frame["period_start"] = days.astype("datetime64[D]").astype("datetime64[us]")
    frame["value"] = frame["value"].astype(float)
    return frame


def _array(data: bytes, position: int, elements: np.dtype) -> np.ndarray:
    """The values of the one-dimensional array without NULLs at `position` (the columns read are NOT
    NULL, or coalesced)."""
    dimensions, has_null, _type, length, _lower = ARRAY_HEADER.unpack_from(data, position)
    if dimensions != 1 or has_null:
        raise ValueError("an observation column read as an array has NULLs or is not one-dimensional")
    return np.frombuffer(data, dtype=elements, count=length, offset=position + 20)["value"].astype(
        elements["value"].newbyteorder("=")
    )
