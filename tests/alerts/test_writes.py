"""The engine's queued writes (`writes.QueuedWrites`): on PostgreSQL a thread sends them while the engine
goes on. What the engine relies on: the writes happen in order, a read sees every write queued before it,
and a failed write fails the run, with nothing of it left."""

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
