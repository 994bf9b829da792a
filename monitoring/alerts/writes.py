"""A run's bulk writes, sent to PostgreSQL in order by a thread of their own while the engine goes on.

A full recompute stores 2.4 million periods and 89,000 alerts. PostgreSQL spends seconds storing them
(parsing, compressing, indexing), and the engine spent those seconds waiting, then seconds more building
the alerts with the server idle. With the writes queued, the two overlap: the machine has two cores, one
for the engine's Python and one for the server.

The rules that keep this safe:
- The writes run in the order they were queued, on the run's own connection and transaction.
- Every query the engine makes through Django while writes are queued first waits for them (an execute
  wrapper), so a read sees every write queued before it. Nothing else may use the connection meanwhile.
- A failed write is raised in the engine's thread at its next query or at the end of the block, and the
  writes queued after it are skipped; the transaction around the block then rolls back.
- Elsewhere than PostgreSQL (SQLite) each write runs at once, in the engine's thread.
"""

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable

import pandas as pd
from django.db import connection

from monitoring.alerts.copy_rows import copy_frame, load_rows


class QueuedWrites:
    """`with QueuedWrites() as writes:` queue writes with `submit` (a function of a cursor), `copy` (COPY data
    in chunks) and `load` (a DataFrame's rows); `flush()` waits for them. `waited`: the seconds the engine
    spent waiting."""

    def __init__(self, copy_types: dict[str, str]):
        self.copy_types = copy_types
        self.threaded = connection.vendor == "postgresql"
        self.waited = 0.0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._pending = False
        self._thread: threading.Thread | None = None
        self._wrapper = None

    def __enter__(self) -> "QueuedWrites":
        if self.threaded:
            connection.ensure_connection()
            self._thread = threading.Thread(
                target=self._work, args=(connection.connection,), name="alert-engine-writes", daemon=True
            )
            self._thread.start()
            self._wrapper = connection.execute_wrapper(self._before_query)
            self._wrapper.__enter__()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if not self.threaded:
            return
        self._wrapper.__exit__(exc_type, exc, traceback)
        started = time.perf_counter()
        self._queue.put(("stop", None))
        self._thread.join()
        self.waited += time.perf_counter() - started
        if exc_type is None:
            self._raise_failure()

    # ------------------------------------------------------------------------------------ queueing

    def submit(self, write: Callable[[object], None]) -> None:
        """Queue `write(cursor)`: a psycopg cursor in the writing thread (it must not use Django's ORM,
        whose connection belongs to the engine's thread), or Django's cursor where writes run at once."""
        if not self.threaded:
            with connection.cursor() as cursor:
                write(cursor)
            return
        self._put("call", write)

    def copy(self, statement: str, chunks: Iterable[bytes]) -> None:
        """Queue a `COPY ... FROM STDIN (FORMAT BINARY)` and its data; the chunks are made here (by the
        engine's thread) and sent there. PostgreSQL only."""
        if not self.threaded:
            raise RuntimeError("binary COPY is PostgreSQL's")
        self._put("copy", statement)
        for chunk in chunks:
            self._put("data", chunk)
        self._put("copy_end", None)

    def load(self, table: str, frame: pd.DataFrame, columns: list[str]) -> None:
        """Queue the rows of `frame[columns]` into `table` (binary COPY; executemany elsewhere)."""
        if frame.empty:
            return
        if self.threaded:
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
            self.copy(statement, copy_frame(frame, columns, self.copy_types))
            return
        with connection.cursor() as cursor:
            load_rows(cursor, table, frame, columns, self.copy_types)

    def flush(self) -> None:
        """Wait until every queued write is done; raise the first that failed."""
        if self.threaded and self._pending:
            started = time.perf_counter()
            done = threading.Event()
            self._queue.put(("flush", done))
            done.wait()
            self._pending = False
            self.waited += time.perf_counter() - started
        self._raise_failure()

    # ------------------------------------------------------------------------------------ internals

    def _raise_failure(self) -> None:
        """Raise a failed write's error as Django raises database errors (IntegrityError, ...)."""
        if self._error is not None:
            with connection.wrap_database_errors:
                raise self._error

    def _put(self, kind: str, item) -> None:
        self._pending = True
        self._queue.put((kind, item))

    def _before_query(self, execute, sql, params, many, context):
        self.flush()
        return execute(sql, params, many, context)

    def _work(self, psycopg_connection) -> None:
        cursor = psycopg_connection.cursor()
        copying: contextlib.ExitStack | None = None  # an open COPY: its context, and the COPY itself
        copy = None
        while True:
            kind, item = self._queue.get()
            if kind == "flush":
                item.set()
                continue
            if kind == "stop" or self._error is not None:
                if copying is not None:  # the engine stopped in the middle of a COPY: abort it
                    self._abort(copying, RuntimeError("the alert engine stopped before the end of its data"))
                    copying = None
                if kind == "stop":
                    break
                continue  # after a failure the rest is skipped (the transaction is rolled back)
            try:
                if kind == "call":
                    item(cursor)
                elif kind == "copy":
                    copying = contextlib.ExitStack()
                    copy = copying.enter_context(cursor.copy(item))
                elif kind == "data":
                    copy.write(item)
                else:  # copy_end: the COPY's end, where PostgreSQL reports what it refused
                    copying, finished = None, copying
                    finished.close()
            # Any failure is the engine's to raise (at its next query or at the end of the block), not this
            # thread's to handle: it is kept, not swallowed.
            except BaseException as error:
                self._error = error
                if copying is not None:
                    self._abort(copying, error)
                    copying = None
        cursor.close()

    @staticmethod
    def _abort(copying: contextlib.ExitStack, error: BaseException) -> None:
        """End a COPY with an error (PostgreSQL discards its rows)."""
        with contextlib.suppress(Exception):  # the first error is the one the engine raises
            copying.__exit__(type(error), error, error.__traceback__)
