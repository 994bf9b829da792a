"""The database checks an observation's indicator, country, region and market once per statement.

Row-level foreign keys cost a deferred trigger per row: about 14 s of a million-row import on PostgreSQL.
These triggers keep the same guarantee set-based:
- after each INSERT or UPDATE of observations, one anti-join over the rows the statement wrote refuses
  any that names a missing indicator, country, region or market (foreign_key_violation);
- deleting (or renumbering) a referenced indicator, country, region or market is refused. That trigger
  first takes SHARE ROW EXCLUSIVE on the observation table, so it waits for open transactions that are
  writing observations and then sees their rows; a writer that comes after waits for the deletion to
  commit, and its own check then sees the row gone (READ COMMITTED: each statement of a trigger function
  reads a fresh snapshot).
SQLite (the embedded default) gets row-level triggers for the first rule (see _sqlite_create for the second).
"""

from django.db import migrations

# (observation column, referenced table)
REFERENCES = [
    ("indicator_id", "monitoring_indicator"),
    ("country_id", "countries_country"),
    ("region_id", "countries_region"),
    ("market_id", "countries_market"),
]
OBSERVATION = "monitoring_observation"


def _missing_condition(alias: str) -> str:
    """True when a row (alias) names an id that its referenced table does not hold."""
    return " OR ".join(
        f"({alias}.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {table} r WHERE r.id = {alias}.{column}))"
        for column, table in REFERENCES
    )


def _postgresql_create() -> list[str]:
    statements = [
        f"""
        CREATE FUNCTION observation_references_check() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM written_rows n WHERE {_missing_condition("n")}) THEN
                RAISE EXCEPTION 'An observation names an indicator, country, region or market that does not exist.'
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN NULL;
        END $$
        """,
        f"""CREATE TRIGGER observation_references_insert AFTER INSERT ON {OBSERVATION}
            REFERENCING NEW TABLE AS written_rows FOR EACH STATEMENT EXECUTE FUNCTION observation_references_check()""",
        f"""CREATE TRIGGER observation_references_update AFTER UPDATE ON {OBSERVATION}
            REFERENCING NEW TABLE AS written_rows FOR EACH STATEMENT EXECUTE FUNCTION observation_references_check()""",
    ]
    for column, table in REFERENCES:
        function = f"{table}_observations_keep"
        statements += [
            f"""
            CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' THEN  -- (nested: kept_rows exists for an UPDATE only)
                    IF NOT EXISTS (
                        SELECT 1 FROM gone_rows g WHERE NOT EXISTS (SELECT 1 FROM kept_rows k WHERE k.id = g.id)
                    ) THEN
                        RETURN NULL;  -- names or codes changed, no id: nothing to check
                    END IF;
                END IF;
                LOCK TABLE {OBSERVATION} IN SHARE ROW EXCLUSIVE MODE;
                IF TG_OP = 'DELETE' THEN
                    IF EXISTS (SELECT 1 FROM {OBSERVATION} o JOIN gone_rows g ON o.{column} = g.id) THEN
                        RAISE EXCEPTION 'Observations refer to this row of {table}: it cannot be deleted.'
                            USING ERRCODE = 'foreign_key_violation';
                    END IF;
                ELSIF EXISTS (
                    SELECT 1 FROM {OBSERVATION} o JOIN gone_rows g ON o.{column} = g.id
                    WHERE NOT EXISTS (SELECT 1 FROM kept_rows k WHERE k.id = g.id)
                ) THEN
                    RAISE EXCEPTION 'Observations refer to this row of {table}: its id cannot change.'
                        USING ERRCODE = 'foreign_key_violation';
                END IF;
                RETURN NULL;
            END $$
            """,
            f"""CREATE TRIGGER {table}_observations_keep_delete AFTER DELETE ON {table}
                REFERENCING OLD TABLE AS gone_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()""",
            f"""CREATE TRIGGER {table}_observations_keep_update AFTER UPDATE ON {table}
                REFERENCING OLD TABLE AS gone_rows NEW TABLE AS kept_rows
                FOR EACH STATEMENT EXECUTE FUNCTION {function}()""",
        ]
    return statements


def _postgresql_drop() -> list[str]:
    statements = [
        f"DROP TRIGGER IF EXISTS observation_references_insert ON {OBSERVATION}",
        f"DROP TRIGGER IF EXISTS observation_references_update ON {OBSERVATION}",
        "DROP FUNCTION IF EXISTS observation_references_check()",
    ]
    for _column, table in REFERENCES:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_observations_keep_delete ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_observations_keep_update ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_observations_keep()",
        ]
    return statements


def _sqlite_create() -> list[str]:
    refused = "SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: an observation names a missing {}')"
    statements = [
        f"""CREATE TRIGGER observation_references_insert BEFORE INSERT ON {OBSERVATION}
            FOR EACH ROW WHEN {_missing_condition("NEW")}
            BEGIN {refused.format("indicator, country, region or market")}; END""",
        f"""CREATE TRIGGER observation_references_update
            BEFORE UPDATE OF indicator_id, country_id, region_id, market_id ON {OBSERVATION}
            FOR EACH ROW WHEN {_missing_condition("NEW")}
            BEGIN {refused.format("indicator, country, region or market")}; END""",
    ]
    # No deletion-side triggers on SQLite: they would fire immediately, and Django's flush (between
    # transactional tests) empties the reference tables before the observations. Deletion there is
    # guarded by the models' on_delete=PROTECT, as every door deletes through Django.
    return statements


def _sqlite_drop() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS observation_references_{operation}" for operation in ("insert", "update")]


STATEMENTS = {
    "postgresql": (_postgresql_create, _postgresql_drop),
    "sqlite": (_sqlite_create, _sqlite_drop),
}


def _run(schema_editor, position: int) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        raise NotImplementedError(f"No reference-check triggers for the {vendor} database.")
    for statement in STATEMENTS[vendor][position]():
        schema_editor.execute(statement)


def create_triggers(apps, schema_editor) -> None:
    _run(schema_editor, 0)


def drop_triggers(apps, schema_editor) -> None:
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0007_observation_places_unchecked_per_row"),
        ("countries", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
