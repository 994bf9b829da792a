"""Celery tasks of the alert engine: one line of glue each, taking ids or keys, safe to run twice.

Both call `alerts_compute`, whose writes converge on natural keys (scores, alerts, series states), so a
redelivered task (acks_late: a killed worker's task comes back) leaves exactly the same tables.
"""

import psycopg
from celery import shared_task
from django.db import InterfaceError, OperationalError

from monitoring.alerts import services

# Errors worth another try: the database or the broker was briefly unavailable or a lock timed out. The
# engine's COPY talks to psycopg directly, so psycopg's own OperationalError (a connection lost mid-COPY)
# is listed beside Django's.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError, ConnectionError, TimeoutError)


@shared_task(
    name="alerts.recompute_observations",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=10 * 60,
    time_limit=12 * 60,
)
def recompute_observations(observation_ids: list[int]) -> dict:
    """Recompute the series these (just approved, rejected or reopened) observations belong to,
    the derived indicators that read them, and the regional rules."""
    return services.alerts_recompute_for_observations(observation_ids=observation_ids)


@shared_task(
    name="alerts.recompute_all",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=50 * 60,
    time_limit=55 * 60,
)
def recompute_all() -> dict:
    """The full recompute (celery beat, daily; the schedule is stored with django-celery-beat)."""
    return services.alerts_compute()
