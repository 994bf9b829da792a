"""The project's Celery app as the integration test starts it (`celery -A tests.alerts.celery_worker worker`).

The only difference from `config.celery_app`: a short Redis visibility timeout, so that the task of a
worker killed with SIGKILL is redelivered within seconds instead of the default hour. (Production sets
the timeout above the longest task's time limit; see the report for the setting proposed.)
"""

import os

from config.celery_app import app

app.conf.broker_transport_options = {
    "visibility_timeout": int(os.environ.get("TEST_VISIBILITY_TIMEOUT", "5")),
    # Look for abandoned messages every second (kombu's default sweep is about 100 s).
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

__all__ = ["app"]
