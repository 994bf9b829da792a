"""The one Celery application of the project (see settings: every CELERY_* setting is read from there)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("foodsec")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
