"""`manage.py check --deploy` with production settings (only environment variables differ) reports
nothing to fix. Run in a subprocess so the settings module is read afresh with DEBUG off."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_environment(**overrides: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DEMO_")) and key != "DATABASE_URL"
    }
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "False",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "foodsec.example.org",
            "DJANGO_CSRF_TRUSTED_ORIGINS": "https://foodsec.example.org",
            # The check does not open the database; an in-memory SQLite keeps it self-contained.
            "DATABASE_URL": "sqlite://:memory:",
            **overrides,
        }
    )
    return environment


def run_check(environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_to_fix_with_production_settings():
    # when the deployment check runs with production settings
    result = run_check(production_environment())

    # then it finds nothing, not even a warning
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_does_complain_about_a_development_configuration():
    # given DEBUG on and the development secret key (the check can fail: it is not a rubber stamp)
    environment = production_environment(DJANGO_DEBUG="True")
    environment.pop("DJANGO_SECRET_KEY")

    # when the check runs, then it names the problems
    result = run_check(environment)
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout  # DEBUG must be False in deployment
