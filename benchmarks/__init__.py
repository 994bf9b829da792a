"""`make bench`: each module `benchmarks/bench_*.py` defines `run(args) -> None` and prints its figures."""

# The PostgreSQL settings docker-compose.yml starts the database with (a test keeps the two equal): fewer
# checkpoints during a million-row load (PostgreSQL's "Populating a Database": increase max_wal_size) and
# compressed full-page images in the WAL. The benchmarks print the server's own values beside them.
SHIPPED_POSTGRES_SETTINGS = {"max_wal_size": "4GB", "checkpoint_timeout": "15min", "wal_compression": "lz4"}


def postgres_settings() -> str:
    """One line: the server's values of the shipped settings, and whether they match docker-compose.yml."""
    from django.db import connection

    values = {}
    with connection.cursor() as cursor:
        for name in SHIPPED_POSTGRES_SETTINGS:
            cursor.execute("SELECT current_setting(%s)", [name])
            values[name] = cursor.fetchone()[0]
    shown = ", ".join(f"{name}={value}" for name, value in values.items())
    if values == SHIPPED_POSTGRES_SETTINGS:
        return f"PostgreSQL settings: {shown} (as docker-compose.yml ships them)"
    wanted = ", ".join(f"{name}={value}" for name, value in SHIPPED_POSTGRES_SETTINGS.items())
    return f"PostgreSQL settings: {shown} (docker-compose.yml ships {wanted}; large imports are slower without)"


def database_settle(also: tuple[str, ...] = ()) -> None:
    """Start a timed step from clean, settled tables: the observation tables (and the tables `also` names)
    vacuumed and analysed, so that autovacuum does not run during the step and a previous run's deleted
    rows are not vacuumed in it; then a checkpoint, so that the step does not pay for the dirty pages and
    WAL of the step before (it needs superuser or the pg_checkpoint role; without it the checkpoint is
    skipped, and said)."""
    from django.db import DatabaseError, connection, transaction

    from monitoring.models import Observation

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("monitoring_observation", Observation.history.model._meta.db_table, *also):
            cursor.execute(f"VACUUM ANALYZE {table}")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as refused:
        print(f"  note: no checkpoint between the steps ({str(refused).strip()})")
