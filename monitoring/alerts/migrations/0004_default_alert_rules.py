"""Data migration: the default alert rules with METHODS.md defaults (reversible)."""

from django.db import migrations


def create_rules(apps, schema_editor):
    from monitoring.alerts.defaults import install_default_rules

    install_default_rules(apps.get_model("alerts", "AlertRule"))


def remove_rules(apps, schema_editor):
    from monitoring.alerts.defaults import DEFAULT_RULES

    AlertRule = apps.get_model("alerts", "AlertRule")
    AlertRule.objects.filter(name__in=[rule["name"] for rule in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0003_rule_indicator_codes")]

    operations = [migrations.RunPython(create_rules, remove_rules)]
