"""docker-compose.yml cannot be run here (no Docker engine on the build machines), so these tests parse
it and check that every service's command names a real entry point of this project."""

import importlib
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _import_target(target: str):
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def _entry_points(command: list[str]) -> list[list[str]]:
    if command[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in command[2].split("&&")]
    return [command]


def test_compose_has_the_production_services_with_healthchecks(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert "pgdata" in compose["volumes"]
    assert any("pgdata:" in volume for volume in services["postgres"]["volumes"])


def test_postgres_starts_with_the_settings_the_benchmarks_are_measured_with(compose):
    from benchmarks import SHIPPED_POSTGRES_SETTINGS

    command = compose["services"]["postgres"]["command"]
    assert command[0] == "postgres"
    settings = dict(value.split("=", 1) for flag, value in zip(command[1::2], command[2::2], strict=True))
    assert all(flag == "-c" for flag in command[1::2])
    assert settings == SHIPPED_POSTGRES_SETTINGS


def test_every_app_service_is_built_from_the_repository_dockerfile(compose):
    for name in ("web", "worker", "beat"):
        assert compose["services"][name]["build"] == "."
    assert (ROOT / "Dockerfile").exists()


def test_every_service_command_names_a_real_entry_point(compose):
    commands = get_commands()
    checked = 0
    for name in ("web", "worker", "beat"):
        for argv in _entry_points(compose["services"][name]["command"]):
            if argv[0] == "gunicorn":
                assert callable(_import_target(argv[1])), argv
            elif argv[0] == "celery":
                from celery import Celery

                target = _import_target(argv[argv.index("-A") + 1])
                # `celery -A module` finds the module's `app` (or `celery`) attribute, as Celery does.
                app = target if isinstance(target, Celery) else getattr(target, "app", None)
                assert isinstance(app, Celery), argv
                if "--scheduler" in argv:
                    assert _import_target(argv[argv.index("--scheduler") + 1])
            elif argv[:2] == ["python", "manage.py"]:
                assert argv[2] in commands, argv
                assert (ROOT / "manage.py").exists()
            else:
                pytest.fail(f"{name}: unknown entry point {argv}")
            checked += 1
    assert checked >= 5


@pytest.mark.django_db
def test_health_endpoint_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_an_unknown_api_address_answers_the_json_error_shape(client):
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
