"""Project configuration. The Celery app is imported here so that shared tasks bind to it."""

from config.celery_app import app as celery_app

__all__ = ("celery_app",)
