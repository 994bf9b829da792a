"""On PostgreSQL a series' periods, classes and reasons are stored as one text each instead of a text array:
each element preceded by U+001F, NULL as U+001E (`models.TEXT_LIST_SEPARATOR`). PostgreSQL parsed the 7
million text elements of a full recompute one by one, about half a second of its time; the score view
splits them again. The stored lists are converted in place. SQLite keeps its JSON lists and view."""

from django.db import migrations

import monitoring.alerts.models

TEXT_LISTS = ["periods", "method_classes", "insufficient_reasons"]
SEPARATOR, NULL = r"E'\x1f'", r"E'\x1e'"
SCORE_COLUMNS = (
    "s.rule_id, s.method, s.indicator_id, s.country_id, s.region_id, s.market_id, s.id AS series_id, s.place_key"
)
VIEW = """
CREATE VIEW alerts_score AS
SELECT s.id * 100000 + u.position AS id, {columns}, u.period, u.period_start, NULLIF(u.value, 'NaN'::float8) AS value,
       NULLIF(u.score, 'NaN'::float8) AS score, u.method_class, NULLIF(u.level, -1::int2) AS level,
       u.insufficient_reason, s.inputs, s.computed_at
FROM alerts_scoreseries s
CROSS JOIN LATERAL unnest({periods}, s.period_starts, s.scored_values, s.scores, {method_classes}, s.levels,
                          {insufficient_reasons})
     WITH ORDINALITY AS u(period, period_start, value, score, method_class, level, insufficient_reason, position)
"""
# The elements after the leading separator (string_to_array gives an empty first one).
AS_ONE_TEXT = VIEW.format(
    columns=SCORE_COLUMNS,
    **{column: f"(string_to_array(s.{column}, {SEPARATOR}, {NULL}))[2:]" for column in TEXT_LISTS},
)
AS_ARRAYS = VIEW.format(columns=SCORE_COLUMNS, **{column: f"s.{column}" for column in TEXT_LISTS})


def _convert(schema_editor, to_text: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    if to_text:
        changes = [
            f"ALTER COLUMN {column} TYPE text USING (CASE WHEN cardinality({column}) = 0 THEN '' "
            f"ELSE {SEPARATOR} || array_to_string({column}, {SEPARATOR}, {NULL}) END)"
            for column in TEXT_LISTS
        ]
    else:
        changes = [
            f"ALTER COLUMN {column} TYPE text[] USING ((string_to_array({column}, {SEPARATOR}, {NULL}))[2:])"
            for column in TEXT_LISTS
        ]
    with schema_editor.connection.cursor() as cursor:  # a new type loses the column's compression (0011)
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        row = cursor.fetchone()
    if row and row[0]:
        changes += [f"ALTER COLUMN {column} SET COMPRESSION lz4" for column in TEXT_LISTS]
    schema_editor.execute("DROP VIEW alerts_score")
    schema_editor.execute(f"ALTER TABLE alerts_scoreseries {', '.join(changes)}")
    schema_editor.execute(AS_ONE_TEXT if to_text else AS_ARRAYS)


def text_lists_as_one_text(apps, schema_editor) -> None:
    _convert(schema_editor, to_text=True)


def text_lists_as_arrays(apps, schema_editor) -> None:
    _convert(schema_editor, to_text=False)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0014_score_view_missing_as_sentinels")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(text_lists_as_one_text, text_lists_as_arrays)],
            state_operations=[
                migrations.AlterField(
                    model_name="scoreseries", name=name, field=monitoring.alerts.models.TextListField(verbose_name=label)
                )
                for name, label in (
                    ("periods", "periods"),
                    ("method_classes", "method's classes"),
                    ("insufficient_reasons", "insufficient data"),
                )
            ],
        )
    ]
