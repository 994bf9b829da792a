"""The engine's queued writes (`writes.QueuedWrites`): on PostgreSQL a thread sends them while the engine
goes on. What the engine relies on: the writes happen in order, a read sees every write queued before it,
and a failed write fails the run, with nothing of it left."""

import signal
import threading
import time

import pandas as pd
import pytest
from django.db import DatabaseError, connection, transaction

from monitoring.alerts.copy_rows import copy_frame
from monitoring.alerts.writes import QueuedWrites
from tests.conftest import require_service

pytestmark = pytest.mark.django_db(transaction=True)

TYPES = {"position": "int8", "label": "varchar"}


@pytest.fixture
def table():
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS test_queued")  # left by an interrupted test run
        cursor.execute("CREATE TABLE test_queued (position bigint PRIMARY KEY, label varchar(20) NOT NULL)")
    yield "test_queued"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE test_queued")


def _rows(first: int, last: int) -> pd.DataFrame:
    return pd.DataFrame({"position": range(first, last), "label": [f"row {n}" for n in range(first, last)]})


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def test_a_read_sees_every_write_queued_before_it(table):
    # given writes queued in a run: rows loaded, then a statement that changes them
    with transaction.atomic(), QueuedWrites(TYPES) as writes:
        writes.load(table, _rows(0, 5000), ["position", "label"])
        writes.submit(lambda cursor: cursor.execute(f"UPDATE {table} SET label = 'changed' WHERE position < 10"))

        # when the engine reads through Django before the block ends
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE label = 'changed') FROM {table}")
            seen = cursor.fetchone()

        # then it sees both writes, in their order
        assert seen == (5000, 10)
    assert _count(table) == 5000


def test_a_failed_write_fails_the_run_and_leaves_nothing(table):
    # given a run whose second load repeats a key (the table refuses it), followed by a third write
    with pytest.raises(DatabaseError), transaction.atomic(), QueuedWrites(TYPES) as writes:
        writes.load(table, _rows(0, 100), ["position", "label"])
        writes.load(table, _rows(50, 60), ["position", "label"])
        writes.submit(lambda cursor: cursor.execute(f"INSERT INTO {table} VALUES (1000, 'after the failure')"))

    # then the error reached the engine, and nothing of the run is stored: the later write was skipped and
    # the transaction rolled back; the connection serves the next run
    assert _count(table) == 0
    with transaction.atomic(), QueuedWrites(TYPES) as writes:
        writes.load(table, _rows(0, 3), ["position", "label"])
    assert _count(table) == 3


def test_an_engine_failure_in_the_middle_of_a_copy_rolls_the_copy_back(table):
    # given a run that fails while it makes the data of a COPY (after one chunk was sent)
    def chunks_then_failure():
        yield from list(copy_frame(_rows(0, 10), ["position", "label"], TYPES))[:-1]  # all but the trailer
        raise ValueError("the engine failed")

    require_service(connection.vendor == "postgresql", "binary COPY is PostgreSQL's (set DATABASE_URL)")
    with pytest.raises(ValueError, match="the engine failed"), transaction.atomic(), QueuedWrites(TYPES) as writes:
        writes.copy(f"COPY {table} (position, label) FROM STDIN (FORMAT BINARY)", chunks_then_failure())

    # then the engine's own error is raised, the COPY was aborted and nothing is stored
    assert _count(table) == 0


def test_a_run_interrupted_while_it_waits_for_its_writes_writes_nothing_after(table):
    # given a run whose queued writes are still running when Celery's soft time limit strikes (a signal
    # while the run waits for them at its end)
    require_service(connection.vendor == "postgresql", "the writing thread is PostgreSQL's (set DATABASE_URL)")

    class SoftTimeLimit(Exception):
        pass

    def strike(_signal, _frame):
        raise SoftTimeLimit

    previous = signal.signal(signal.SIGALRM, strike)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        with pytest.raises(SoftTimeLimit), transaction.atomic(), QueuedWrites(TYPES) as writes:
            writes.submit(lambda cursor: cursor.execute(f"INSERT INTO {table} VALUES (1, 'in the run')"))
            writes.submit(lambda cursor: cursor.execute("SELECT pg_sleep(2)"))
            writes.submit(lambda cursor: cursor.execute(f"INSERT INTO {table} VALUES (2, 'after it')"))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    # then the interrupt reached the run only once its writing thread had stopped (the write in flight
    # cancelled, the rest skipped), and nothing of the run is stored, then or later
    assert not [thread for thread in threading.enumerate() if thread.name == "alert-engine-writes"]
    time.sleep(0.5)
    assert _count(table) == 0


def test_a_copy_whose_data_failed_is_ended_not_left_open(table):
    # given a COPY whose data fails to be made, the failure caught inside the run
    require_service(connection.vendor == "postgresql", "binary COPY is PostgreSQL's (set DATABASE_URL)")

    def failing_chunks():
        yield from list(copy_frame(_rows(0, 10), ["position", "label"], TYPES))[:1]  # the header only
        raise ValueError("the engine failed")

    stopped = "stopped before the end of a COPY"
    with pytest.raises(RuntimeError, match=stopped), transaction.atomic(), QueuedWrites(TYPES) as writes:
        with pytest.raises(ValueError):
            writes.copy(f"COPY {table} (position, label) FROM STDIN (FORMAT BINARY)", failing_chunks())

        # when the run goes on and waits for its writes, then it learns that the COPY was ended (an open
        # COPY would hold the connection, and the run's next query would wait for ever), and so does the
        # end of the run
        with pytest.raises(RuntimeError, match=stopped):
            writes.flush()
    assert _count(table) == 0
