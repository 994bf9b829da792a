"""The country-scope policy: the one place every door (pages, admin, API, import, commands) asks.

A user's scope is stored data (`countries.Membership`), never a naming convention. Superusers and
administrators act everywhere; clerks and approvers act only for their own state; regional analysts
read everything and manage alert rules and reports; viewers and the public read approved data only.
"""

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from countries.models import Country, Membership

Role = Membership.Role


def _roles(user) -> set[tuple[str, int | None]]:
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated or not user.is_active:
        return set()
    cached = getattr(user, "_membership_roles", None)
    if cached is None:
        cached = set(Membership.objects.filter(user=user).values_list("role", "country_id"))
        user._membership_roles = cached
    return cached


def is_administrator(user) -> bool:
    return bool(getattr(user, "is_superuser", False) and user.is_active) or any(
        role == Role.ADMINISTRATOR for role, _ in _roles(user)
    )


def is_analyst(user) -> bool:
    return is_administrator(user) or any(role == Role.ANALYST for role, _ in _roles(user))


def _country_id(country: Country | int) -> int:
    return country if isinstance(country, int) else country.pk


def can_enter(user, country: Country | int) -> bool:
    """Create, change, import and submit values of this state."""
    country_id = _country_id(country)
    return is_administrator(user) or (Role.CLERK, country_id) in _roles(user)


def can_approve(user, country: Country | int) -> bool:
    """Approve, reject and reopen this state's submitted data."""
    country_id = _country_id(country)
    return is_administrator(user) or (Role.APPROVER, country_id) in _roles(user)


def can_read_unapproved(user, country: Country | int) -> bool:
    """See drafts, submissions and rejections of this state."""
    country_id = _country_id(country)
    return is_analyst(user) or (Role.CLERK, country_id) in _roles(user) or (Role.APPROVER, country_id) in _roles(user)


def countries_enterable(user) -> list[int]:
    """Ids of the states whose values the user may enter (all five for an administrator)."""
    if is_administrator(user):
        return list(Country.objects.values_list("pk", flat=True))
    return sorted(country_id for role, country_id in _roles(user) if role == Role.CLERK)


def countries_approvable(user) -> list[int]:
    if is_administrator(user):
        return list(Country.objects.values_list("pk", flat=True))
    return sorted(country_id for role, country_id in _roles(user) if role == Role.APPROVER)


def can_manage_alerts(user, country: Country | int | None = None) -> bool:
    """Acknowledge or resolve alerts: analysts for every state; approvers for their own state."""
    if is_analyst(user):
        return True
    return country is not None and can_approve(user, country)


def countries_readable_unapproved(user) -> list[int]:
    """Ids of the states whose drafts, submissions and rejections the user may see."""
    if is_analyst(user):
        return list(Country.objects.values_list("pk", flat=True))
    return sorted({country_id for role, country_id in _roles(user) if role in (Role.CLERK, Role.APPROVER)})


def can_use_entry(user) -> bool:
    """Open the data-entry pages at all: clerks, approvers, analysts and administrators (read-only for
    analysts). Viewers and the public read approved data on the dashboards instead."""
    return bool(countries_readable_unapproved(user))


def visible_observations(user, queryset):
    """The rows of `queryset` (observations) this user may read: approved values for everyone,
    unapproved ones only of the states in the user's scope."""
    readable = countries_readable_unapproved(user)
    return queryset.filter(Q(status="approved") | Q(country_id__in=readable))
