"""Email digests: when alerts are raised or escalate to warning or above, the country's approvers and the
regional analysts get one email each per run, listing every such alert they should know about.

Sent after the engine's transaction commits (Django's email backend: console in demo, SMTP from EMAIL_URL
in production, locmem in tests)."""

import logging
import smtplib
from collections import defaultdict

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from countries.models import Membership
from monitoring.alerts.models import Alert, Level, RegionalAlert
from monitoring.alerts.selectors import alert_sentence

logger = logging.getLogger(__name__)


def digest_recipients(country_ids: set[int]) -> dict[int, tuple[str, set[int | None]]]:
    """user id -> (email, the countries whose alerts the user receives; None stands for regional alerts).
    Approvers of a state get that state's alerts; regional analysts get every alert."""
    recipients: dict[int, tuple[str, set[int | None]]] = {}
    condition = Q(role=Membership.Role.APPROVER, country_id__in=country_ids) | Q(role=Membership.Role.ANALYST)
    memberships = (
        Membership.objects.filter(condition, user__is_active=True)
        .exclude(user__email="")
        .values_list("user_id", "user__email", "role", "country_id")
    )
    for user_id, email, role, country_id in memberships:
        _, scope = recipients.setdefault(user_id, (email, set()))
        if role == Membership.Role.ANALYST:
            scope.update(country_ids | {None})
        else:
            scope.add(country_id)
    return recipients


def send_digests(*, alert_ids: list[int], regional_ids: list[int] | None = None) -> int:
    """Send at most one digest per person; returns the number of emails sent."""
    alerts = list(
        Alert.objects.filter(pk__in=alert_ids, level__gte=Level.WARNING)
        .exclude(status=Alert.Status.RESOLVED)
        .select_related("indicator", "country")
        .order_by("country__iso2", "-level", "indicator__code", "period_start")
    )
    regional = list(RegionalAlert.objects.filter(pk__in=regional_ids or []).select_related("indicator"))
    if not alerts and not regional:
        return 0
    by_country: dict[int | None, list] = defaultdict(list)
    for alert in alerts:
        by_country[alert.country_id].append(alert)
    by_country[None].extend(regional)
    messages = []
    with translation.override(settings.LANGUAGE_CODE):
        for _user_id, (email, scope) in sorted(digest_recipients(set(by_country) - {None}).items()):
            items = [
                item
                for country_id in sorted(scope, key=lambda c: (c is None, c or 0))
                for item in by_country.get(country_id, [])
            ]
            if not items:
                continue
            lines = [f"- {alert_sentence(item)}" for item in items]
            body = "\n".join(
                [
                    _("New or escalated food-security alerts (warning or above):"),
                    "",
                    *lines,
                    "",
                    _("See the alerts page for details."),
                ]
            )
            subject = _("Food-security alerts: %(count)s new or escalated") % {"count": len(items)}
            messages.append(EmailMessage(subject=subject, body=body, to=[email]))
    if messages:
        try:
            with get_connection() as connection:
                connection.send_messages(messages)
        except (smtplib.SMTPException, OSError):
            # The alerts are committed and visible on the pages; a mail server that is down must not fail
            # (and so retry) the recompute. Logged for the administrator.
            logger.exception("alert digests could not be sent")
            return 0
    logger.info("alert digests sent: %s", len(messages))
    return len(messages)
