"""A real Redis and a real Celery worker process: approving a value enqueues a recompute that the worker
runs; a worker killed (SIGKILL) in the middle of a full recompute leaves, once restarted, exactly the
alerts a clean run gives (acks_late + idempotent writes)."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from countries.services import reference_countries_load
from monitoring.alerts.defaults import install_default_rules
from monitoring.alerts.models import Alert, AlertEvent, AlertRule, RegionalAlert, ScoreSeries, SeriesState
from monitoring.alerts.services import alerts_compute
from monitoring.catalogue import catalogue_load
from monitoring.models import Indicator, Observation
from monitoring.services import observations_approve
from tests.alerts.conftest import write_monthly
from tests.alerts.test_engine import spiky_prices
from tests.conftest import require_service
from tests.factories import MarketFactory, user_with_role

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BASE_DIR = Path(settings.BASE_DIR)

pytestmark = [pytest.mark.services]


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def shared_database(transactional_db, tmp_path):
    """A database the worker process can open too: the PostgreSQL test database, or on SQLite a file copy
    of the in-memory test database (which another process cannot see)."""
    connection = connections["default"]
    settings_dict = connection.settings_dict
    if connection.vendor != "sqlite":
        user = settings_dict.get("USER") or ""
        password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
        host = settings_dict.get("HOST") or ""
        port = settings_dict.get("PORT") or ""
        if host.startswith("/"):
            url = f"postgres://{user}{password}@/{settings_dict['NAME']}?host={host}"
        else:
            url = f"postgres://{user}{password}@{host}{':' + str(port) if port else ''}/{settings_dict['NAME']}"
        yield url
        return
    path = tmp_path / "celery-test.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    saved_connection, saved_name = connection.connection, settings_dict["NAME"]
    connection.connection = None
    settings_dict["NAME"] = str(path)
    try:
        yield f"sqlite:///{path}"
    finally:
        connection.close()
        settings_dict["NAME"] = saved_name
        connection.connection = saved_connection


@pytest.fixture
def celery_broker(shared_database):
    """The project's Celery app pointed at the test Redis, on a queue of its own (other test runs may
    share the Redis database)."""
    from config.celery_app import app

    queue = f"alerts-test-{uuid.uuid4().hex[:8]}"
    saved = {key: app.conf.get(key) for key in ("broker_url", "task_always_eager", "task_default_queue")}
    app.conf.update(broker_url=REDIS_URL, task_always_eager=False, task_default_queue=queue)
    _forget_connections(app)
    try:
        yield {"queue": queue, "database_url": shared_database, "app": app}
    finally:
        app.conf.update(saved)
        _forget_connections(app)


def _forget_connections(app) -> None:
    """Drop the connection and producer pools Celery caches, so the next message goes to the broker
    configured now (an earlier test may have built them for the embedded default)."""
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


class Worker:
    """A `celery worker` subprocess with the same settings as production but the test broker and db."""

    def __init__(self, broker: dict, log: Path, pause_before_alerts: float = 0) -> None:
        self.broker, self.log, self.pause_before_alerts = broker, log, pause_before_alerts
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        env = {
            **os.environ,
            "DATABASE_URL": self.broker["database_url"],
            "CELERY_BROKER_URL": REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "TEST_VISIBILITY_TIMEOUT": "4",
            "PYTHONPATH": str(BASE_DIR),
            "PYTHONUNBUFFERED": "1",
            "TEST_PAUSE_BEFORE_ALERTS": str(self.pause_before_alerts),
        }
        command = [sys.executable, "-m", "celery", "-A", "tests.alerts.celery_worker", "worker", "--pool=solo",
                   "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
                   "-Q", self.broker["queue"], "--loglevel=INFO"]  # fmt: skip
        self.handle = self.log.open("ab")
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=self.handle, stderr=subprocess.STDOUT)
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, count: int = 1, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.text().count(needle) >= count:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker never logged {needle!r} x{count}:\n{self.text()[-3000:]}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.handle.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.handle.close()


def alert_table() -> list[tuple]:
    return sorted(
        (rule, indicator, country, place, period, level, status, method_class, round(score, 9))
        for rule, indicator, country, place, period, level, status, method_class, score in Alert.objects.values_list(
            "rule__name", "indicator__code", "country__iso2", "place_key", "period", "level", "status",
            "method_class", "score",
        )
    )  # fmt: skip


def test_approval_is_recomputed_by_a_real_worker_and_a_killed_full_recompute_converges(celery_broker, tmp_path):
    require_service(redis_available(), f"Redis is not reachable at {REDIS_URL}")
    # given the reference data and default rules in the shared database
    if not Indicator.objects.exists():
        reference_countries_load()
        catalogue_load()
    install_default_rules(AlertRule)
    from countries.models import Country

    kg = Country.objects.get(iso2="KG")
    indicator = Indicator.objects.get(code="PRICE_WHEAT_FLOUR")
    market = MarketFactory(country=kg, code="osh", name="Osh")
    prices = spiky_prices()
    write_monthly(indicator=indicator, country=kg, market=market, values=prices[:-1], start_year=2011)
    # and the last month, a spike, submitted and waiting for approval
    (pending,) = write_monthly(
        indicator=indicator, country=kg, market=market, values=[None] * 119 + [prices[-1] + 30], start_year=2011,
        status="submitted",
    )  # fmt: skip
    approver = user_with_role("approver", kg, username="kg_approver_celery")
    worker = Worker(celery_broker, tmp_path / "worker.log").start()
    try:
        worker.wait_for("ready.")
        # when the approver approves it (the recompute is enqueued after the commit)
        observations_approve(observations=[pending], user=approver, door="page")
        # then the worker computes it and the alert appears
        worker.wait_for("alerts.recompute_observations", timeout=30)
        worker.wait_for("succeeded", timeout=30)
        alert = Alert.objects.get(method="alps", place_key="market:osh", period="2020-12")
        assert alert.level == 3 and alert.status == Alert.Status.OPEN

        # given more approved data the engine has not seen (written straight to the table, no task)
        for number in range(60):
            other = MarketFactory(country=kg, code=f"m{number}", name=f"Market {number}")
            for code in ("PRICE_BREAD", "PRICE_POTATOES"):
                write_monthly(indicator=Indicator.objects.get(code=code), country=kg, market=other,
                              values=spiky_prices(seed=number), start_year=2011)  # fmt: skip
        # when a full recompute is killed (SIGKILL) while it runs, its first rule's scores queued and its
        # alerts not yet (a worker that pauses there, so that the kill lands inside the run's transaction), and
        # a new worker starts
        from monitoring.alerts.tasks import recompute_all

        series_before = ScoreSeries.objects.count()
        worker.stop()
        worker = Worker(celery_broker, tmp_path / "worker.log", pause_before_alerts=60).start()
        worker.wait_for("ready.", count=2)
        recompute_all.delay()
        worker.wait_for("paused before the alerts", timeout=30)
        assert worker.text().count("succeeded") == 1, "the full recompute finished before the kill"
        worker.kill()
        # (the killed run's scores, written before its pause, were rolled back with it)
        assert ScoreSeries.objects.count() == series_before
        # the unacknowledged message becomes visible again after the visibility timeout (4 s here)
        time.sleep(5)
        worker = Worker(celery_broker, tmp_path / "worker.log").start()
        # then the redelivered task runs to the end
        worker.wait_for("succeeded", count=2, timeout=45)
    finally:
        worker.stop()
    after_kill = alert_table()
    assert len(after_kill) > 100
    # and the alerts equal those of a clean run from nothing
    AlertEvent.objects.all().delete()
    RegionalAlert.objects.all().delete()
    Alert.objects.all().delete()
    ScoreSeries.objects.all().delete()
    SeriesState.objects.all().delete()
    alerts_compute(notify=False)
    clean = alert_table()
    assert after_kill == clean, [row for row in after_kill if row not in clean][:5]
    assert Observation.objects.approved().count() > 14000
