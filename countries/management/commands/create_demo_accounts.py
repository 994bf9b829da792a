"""Demo accounts for `make run`: for each state a clerk and an approver (`kg_clerk`, `kg_approver`, ...),
one regional `analyst`, one `viewer` and an `admin` superuser, all with settings.DEMO_PASSWORD.

Only in demo mode: production never gets accounts with a published password. Safe to run again: the
accounts and their memberships are kept, and the password is set to the current DEMO_PASSWORD."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from countries.models import Country, Membership

Role = Membership.Role


def _account(username: str, password: str, **flags) -> tuple:
    user, created = get_user_model().objects.get_or_create(username=username, defaults=flags)
    changed = False
    for field, value in flags.items():
        if getattr(user, field) != value:
            setattr(user, field, value)
            changed = True
    if created or changed or not user.check_password(password):
        user.set_password(password)
        user.save()
    return user, created


@transaction.atomic
def demo_accounts_create(*, password: str) -> list[tuple[str, str, bool]]:
    """Create or refresh the demo accounts; returns (username, role description, created) rows."""
    rows = []
    for country in Country.objects.order_by("iso2"):
        for role in (Role.CLERK, Role.APPROVER):
            user, created = _account(f"{country.iso2.lower()}_{role}", password, is_active=True)
            Membership.objects.get_or_create(user=user, role=role, country=country)
            rows.append((user.username, f"{Role(role).label} ({country.name_en})", created))
    for role in (Role.ANALYST, Role.VIEWER):
        user, created = _account(str(role), password, is_active=True)
        Membership.objects.get_or_create(user=user, role=role, country=None)
        rows.append((user.username, str(Role(role).label), created))
    user, created = _account("admin", password, is_active=True, is_staff=True, is_superuser=True)
    Membership.objects.get_or_create(user=user, role=Role.ADMINISTRATOR, country=None)
    rows.append((user.username, str(Role.ADMINISTRATOR.label), created))
    return rows


class Command(BaseCommand):
    help = "Create the demo accounts (only with DEMO_MODE=1): <iso2>_clerk, <iso2>_approver, analyst, viewer, admin."

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("create_demo_accounts runs only with DEMO_MODE=1: demo accounts share one password.")
        if not Country.objects.exists():
            raise CommandError("No countries yet: run `manage.py load_reference` first.")
        rows = demo_accounts_create(password=settings.DEMO_PASSWORD)
        self.stdout.write("Demo accounts (password from DEMO_PASSWORD):")
        for username, role, created in rows:
            self.stdout.write(f"  {username:<14} {role}{'' if created else '  (already there)'}")
