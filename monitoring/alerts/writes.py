"""A run's bulk writes, sent to PostgreSQL in order by a thread of their own while the engine goes on.

A full recompute stores 2.4 million periods and 89,000 alerts. PostgreSQL spends seconds storing them
(parsing, compressing, indexing), and the engine spent those seconds waiting, then seconds more building
the alerts with the server idle. With the writes queued, the two overlap: the machine has two cores, one
for the engine's Python and one for the server (sharing them slows the engine's own work somewhat, less
than the waiting it saves).

The rules that keep this safe:
- The writes run in the order they were queued, on the run's own connection and transaction.
- Every query the engine makes through Django while writes are queued first waits for them (an execute
  wrapper), so a read sees every write queued before it. Nothing else may use the connection meanwhile.
- A failed write is raised in the engine's thread at its next query or at the end of the block, and the
  writes queued after it are skipped; the transaction around the block then rolls back.
- When the engine fails (or is interrupted: Celery's soft time limit) the queued writes are skipped, the
  one in flight is cancelled, and the block ends only once the thread has stopped, so that nothing is
  written after the rollback.
- Elsewhere than PostgreSQL (SQLite) each write runs at once, in the engine's thread.
"""

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable

import pandas as pd
from django.db import connection

from monitoring.alerts.copy_rows import copy_frame, insert_rows

logger = logging.getLogger(__name__)


class QueuedWrites:
    """`with QueuedWrites(copy_types) as writes:` queue writes with `submit` (a function of a cursor), `copy`
    (COPY data in chunks) and `load` (a DataFrame's rows; `copy_types`: the PostgreSQL type of each column
    it may load); `flush()` waits for them. `waited`: the seconds the engine spent waiting."""

    def __init__(self, copy_types: dict[str, str]):
        self.copy_types = copy_types
        self.threaded = connection.vendor == "postgresql"
        self.waited = 0.0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._abandoned = False  # the engine failed: the thread skips what is queued
        self._busy = False  # the thread is running a write
        self._pending = False
        self._thread: threading.Thread | None = None
        self._connection = None
        self._wrapper = None

    def __enter__(self) -> "QueuedWrites":
        if self.threaded:
            connection.ensure_connection()
            self._connection = connection.connection
            self._thread = threading.Thread(
                target=self._work, args=(self._connection,), name="alert-engine-writes", daemon=True
            )
            self._thread.start()
            self._wrapper = connection.execute_wrapper(self._before_query)
            self._wrapper.__enter__()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if not self.threaded:
            return
        self._wrapper.__exit__(exc_type, exc, traceback)
        if exc_type is not None:
            self._abandon()
        interrupt = self._stop()
        if interrupt is not None:
            raise interrupt
        if exc_type is None:
            self._raise_failure()
        elif self._error is not None:  # the engine's own error is raised; say that a write failed too
            logger.warning("a queued write of the failed run failed too: %s", self._error)

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
        try:
            for chunk in chunks:
                self._put("data", chunk)
        except BaseException:
            self._put("copy_abort", None)  # the COPY must not stay open (it holds the connection)
            raise
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
            insert_rows(cursor, table, frame, columns, self.copy_types)

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

    def _abandon(self) -> None:
        """The engine failed: the thread skips the queued writes, and the one in flight is cancelled."""
        self._abandoned = True
        if self._busy:
            with contextlib.suppress(Exception):  # nothing to cancel any more
                self._connection.cancel_safe()

    def _stop(self) -> BaseException | None:
        """Stop the thread and wait for it, whatever interrupts the wait (a soft time limit, a signal): it
        must not write on once the transaction is rolled back. Returns the interrupt, to raise it then."""
        started = time.perf_counter()
        self._queue.put(("stop", None))
        interrupt = None
        while self._thread.is_alive():
            try:
                self._thread.join()
            except BaseException as error:  # kept and raised once the thread has stopped
                interrupt = interrupt or error
                self._abandon()
        self.waited += time.perf_counter() - started
        return interrupt

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
            if kind in ("stop", "copy_abort") or self._error is not None or self._abandoned:
                if copying is not None:  # the engine stopped in the middle of a COPY: abort it
                    stopped = RuntimeError("the alert engine stopped before the end of a COPY's data")
                    self._abort(copying, stopped)
                    copying = None
                    if self._error is None and not self._abandoned:
                        self._error = stopped
                if kind == "stop":
                    break
                continue  # after a failure the rest is skipped (the transaction is rolled back)
            self._busy = True
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
            finally:
                self._busy = False
        cursor.close()

    @staticmethod
    def _abort(copying: contextlib.ExitStack, error: BaseException) -> None:
        """End a COPY with an error (PostgreSQL discards its rows)."""
        with contextlib.suppress(Exception):  # the first error is the one the engine raises
            copying.__exit__(type(error), error, error.__traceback__)
