"""Reads of the report pages."""

from django.db.models import QuerySet

from monitoring.permissions import is_analyst
from reports.models import SummitReport


def reports_visible_to(user) -> QuerySet[SummitReport]:
    """Everyone sees the ready versions (they contain approved data only); analysts also see drafts,
    builds in progress and failures."""
    reports = SummitReport.objects.select_related("built_by")
    return reports if is_analyst(user) else reports.ready()
