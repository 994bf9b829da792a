"""On PostgreSQL the engine writes a missing value or score as NaN and a missing level as -1, so that every
element of a series' lists has the same width (numpy writes a chunk's elements in one block: a list with
NULLs took it five times as long). The score view turns them back into NULL; lists written before, with
NULLs, read the same. SQLite keeps JSON lists with nulls and its view."""

from django.db import migrations

SCORE_COLUMNS = (
    "s.rule_id, s.method, s.indicator_id, s.country_id, s.region_id, s.market_id, s.id AS series_id, s.place_key"
)
VIEW = """
CREATE OR REPLACE VIEW alerts_score AS
SELECT s.id * 100000 + u.position AS id, {columns}, u.period, u.period_start, {value} AS value, {score} AS score,
       u.method_class, {level} AS level, u.insufficient_reason, s.inputs, s.computed_at
FROM alerts_scoreseries s
CROSS JOIN LATERAL unnest(s.periods, s.period_starts, s.scored_values, s.scores, s.method_classes, s.levels,
                          s.insufficient_reasons)
     WITH ORDINALITY AS u(period, period_start, value, score, method_class, level, insufficient_reason, position)
"""
# PostgreSQL's NaN equals NaN (unlike IEEE's), so NULLIF finds it.
SENTINELS_AS_NULL = VIEW.format(
    columns=SCORE_COLUMNS,
    value="NULLIF(u.value, 'NaN'::float8)",
    score="NULLIF(u.score, 'NaN'::float8)",
    level="NULLIF(u.level, -1::int2)",
)
AS_STORED = VIEW.format(columns=SCORE_COLUMNS, value="u.value", score="u.score", level="u.level")


def _view_replace(schema_editor, view: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(view)


def sentinels_read_as_null(apps, schema_editor) -> None:
    _view_replace(schema_editor, SENTINELS_AS_NULL)


def sentinels_read_as_stored(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # The view before reads the lists as stored: the sentinels written since become NULL again.
    schema_editor.execute(
        "UPDATE alerts_scoreseries SET scored_values = array_replace(scored_values, 'NaN', NULL), "
        "scores = array_replace(scores, 'NaN', NULL), levels = array_replace(levels, -1::int2, NULL)"
    )
    _view_replace(schema_editor, AS_STORED)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0013_alert_people_unchecked")]

    operations = [migrations.RunPython(sentinels_read_as_null, sentinels_read_as_stored)]
