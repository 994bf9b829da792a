"""An import racing another writer on PostgreSQL: the import inserts new keys with a plain INSERT; when
another transaction commits one of those keys meanwhile, the import must not fail but take that row over
as an update (its savepoint is undone and INSERT ... ON CONFLICT DO UPDATE runs instead)."""

import threading
import time

import pytest
from django.db import connection, connections

from monitoring.imports.service import import_observations_file
from monitoring.models import ImportBatch, Observation
from tests.conftest import require_service

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _insert_2019(cursor, indicator_id: int, country_id: int) -> None:
    cursor.execute(
        """INSERT INTO monitoring_observation (indicator_id, country_id, place_key, period, period_start,
            value, flag, status, source, comment, rejection_reason, created_at, updated_at)
        VALUES (%s, %s, '', '2019', '2019-01-01', 7.0, '', 'draft', '', '', '', now(), now())""",
        [indicator_id, country_id],
    )


def _wait_until_blocked(cursor, importer_pid: int) -> None:
    """Until the import's session waits on a lock this session holds (10 s at most)."""
    for _attempt in range(200):
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [importer_pid])
        row = cursor.fetchone()
        if row and row[0] == "Lock":
            return
        time.sleep(0.05)


def _commit_when_blocked(importer_pid: int, indicator_id: int, country_id: int, ready: threading.Event) -> None:
    """Another ministry session: write the key 2019 in a transaction, and commit only once the import's
    INSERT is waiting on it (so the import cannot have seen it)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            _insert_2019(cursor, indicator_id, country_id)
            ready.set()
            _wait_until_blocked(cursor, importer_pid)
            cursor.execute("COMMIT")
    finally:
        connections.close_all()


def test_an_import_racing_another_writer_updates_the_row_it_committed(tmp_path, reference):
    require_service(connection.vendor == "postgresql", "the race is PostgreSQL's (set DATABASE_URL to PostgreSQL)")
    # given: another session holds an uncommitted value for (POU, KG, 2019)
    pou, kg = reference.indicators["POU"], reference.kg
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        importer_pid = cursor.fetchone()[0]
    ready = threading.Event()
    other = threading.Thread(target=_commit_when_blocked, args=(importer_pid, pou.pk, kg.pk, ready))
    other.start()
    assert ready.wait(10)
    path = tmp_path / "race.csv"
    path.write_text("country,indicator,period,value\nKG,POU,2019,8.5\nKG,POU,2020,9.5\n", encoding="utf-8")

    # when: the file with that key and a new one is imported
    batch = import_observations_file(path=path, file_format="template", status="approved")
    other.join(10)

    # then: the import succeeded; the raced row carries the file's value, the other row is new
    assert batch.status == ImportBatch.Status.IMPORTED, batch.errors
    assert (batch.rows_created, batch.rows_updated, batch.rows_unchanged) == (1, 1, 0)
    values = dict(Observation.objects.filter(indicator=pou, country=kg).values_list("period", "value"))
    assert values == {"2019": 8.5, "2020": 9.5}
    raced = Observation.objects.get(indicator=pou, country=kg, period="2019")
    assert raced.status == Observation.Status.APPROVED
    assert list(raced.history.values_list("history_type", flat=True)) == ["~"]


def _commit_new_key_while_update_waits(importer_pid: int, indicator_id: int, country_id: int, ready) -> None:
    """Another session: hold the row 2018 (so the import's UPDATE waits on it), then write and commit the
    new key 2019 while the import is inside that statement."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT id FROM monitoring_observation WHERE period = '2018' FOR UPDATE")
            ready.set()
            _wait_until_blocked(cursor, importer_pid)
            _insert_2019(cursor, indicator_id, country_id)
            cursor.execute("COMMIT")
    finally:
        connections.close_all()


def test_a_key_committed_while_the_import_updates_is_not_lost(tmp_path, reference):
    require_service(connection.vendor == "postgresql", "the race is PostgreSQL's (set DATABASE_URL to PostgreSQL)")
    # given: a value for 2018, and another session that will add 2019 while the import's UPDATE runs
    pou, kg = reference.indicators["POU"], reference.kg
    first = tmp_path / "first.csv"
    first.write_text("country,indicator,period,value\nKG,POU,2018,1.0\n", encoding="utf-8")
    assert import_observations_file(path=first, file_format="template").status == ImportBatch.Status.IMPORTED
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        importer_pid = cursor.fetchone()[0]
    ready = threading.Event()
    other = threading.Thread(target=_commit_new_key_while_update_waits, args=(importer_pid, pou.pk, kg.pk, ready))
    other.start()
    assert ready.wait(10)
    second = tmp_path / "second.csv"
    second.write_text("country,indicator,period,value\nKG,POU,2018,2.0\nKG,POU,2019,8.5\nKG,POU,2020,9.5\n", "utf-8")

    # when
    batch = import_observations_file(path=second, file_format="template")
    other.join(10)

    # then: every value of the file is in the table; 2019 was taken over, not counted as unchanged
    assert batch.status == ImportBatch.Status.IMPORTED, batch.errors
    assert (batch.rows_created, batch.rows_updated, batch.rows_unchanged) == (1, 2, 0)
    values = dict(Observation.objects.filter(indicator=pou, country=kg).values_list("period", "value"))
    assert values == {"2018": 2.0, "2019": 8.5, "2020": 9.5}
