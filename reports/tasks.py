"""Celery glue: build one summit report version (eager in the embedded default)."""

from celery import shared_task

from reports.services import report_build


@shared_task(name="reports.build", acks_late=True, time_limit=30 * 60, soft_time_limit=25 * 60)
def report_build_task(report_id: int) -> str:
    # Safe to run twice: report_build leaves a ready or failed version as it is.
    return report_build(report_id=report_id).status
