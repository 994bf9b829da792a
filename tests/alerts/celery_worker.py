"""The project's Celery app as the integration test starts it (`celery -A tests.alerts.celery_worker worker`).

The differences from `config.celery_app`: a short Redis visibility timeout, so that the task of a
worker killed with SIGKILL is redelivered within seconds instead of the default hour (production sets
the timeout above the longest task's time limit; see the report for the setting proposed); and, with
TEST_PAUSE_BEFORE_ALERTS set, a full recompute that logs "paused before the alerts" and waits that many
seconds before its first rule's alerts (that rule's scores already queued), inside its transaction, so
that the test kills it at a known point (the engine alone takes well under a second on the test's data).
"""

import logging
import os
import time

from celery.signals import task_prerun

from config.celery_app import app

app.conf.broker_transport_options = {
    "visibility_timeout": int(os.environ.get("TEST_VISIBILITY_TIMEOUT", "5")),
    # Look for abandoned messages every second (kombu's default sweep is about 100 s).
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

pause = float(os.environ.get("TEST_PAUSE_BEFORE_ALERTS", "0"))


@task_prerun.connect
def _pause_before_alerts(**_kwargs) -> None:
    """Wrap the engine's alert step once Django is set up (at the first task)."""
    from monitoring.alerts import engine

    if not pause or getattr(engine._converge_alerts, "paused", False):
        return
    converge = engine._converge_alerts

    def converge_after_a_pause(*args, **kwargs):
        logging.getLogger(__name__).warning("paused before the alerts")
        time.sleep(pause)
        return converge(*args, **kwargs)

    converge_after_a_pause.paused = True
    engine._converge_alerts = converge_after_a_pause


__all__ = ["app"]
