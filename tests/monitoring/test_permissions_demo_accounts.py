"""`create_demo_accounts`: the demo roles are stored memberships, created only in demo mode, idempotently."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from countries.models import Membership
from monitoring import permissions

pytestmark = pytest.mark.django_db


def test_demo_accounts_are_created_once_with_their_country_scope(reference, settings):
    # given demo mode
    settings.DEMO_MODE = True
    settings.DEMO_PASSWORD = "demo-Password-1"

    # when the command runs twice
    call_command("create_demo_accounts", stdout=io.StringIO())
    out = io.StringIO()
    call_command("create_demo_accounts", stdout=out)

    # then every account exists once, with the password and the right scope, and is printed
    users = get_user_model().objects
    names = {f"{iso2}_{role}" for iso2 in ("kz", "kg", "tj", "tm", "uz") for role in ("clerk", "approver")}
    names |= {"analyst", "viewer", "admin"}
    assert set(users.filter(username__in=names).values_list("username", flat=True)) == names
    assert Membership.objects.filter(user__username__in=names).count() == 13
    for name in names:
        assert name in out.getvalue()
        assert users.get(username=name).check_password("demo-Password-1")
    kg_clerk = users.get(username="kg_clerk")
    assert permissions.can_enter(kg_clerk, reference.kg)
    assert not permissions.can_enter(kg_clerk, reference.kz)
    assert permissions.can_approve(users.get(username="kz_approver"), reference.kz)
    assert not permissions.can_approve(users.get(username="kz_approver"), reference.kg)
    assert permissions.is_analyst(users.get(username="analyst"))
    assert not permissions.can_use_entry(users.get(username="viewer"))
    assert users.get(username="admin").is_superuser


def test_demo_accounts_are_refused_outside_demo_mode(reference, settings):
    # given production settings
    settings.DEMO_MODE = False

    # when the command runs, then it refuses and creates nobody
    with pytest.raises(CommandError):
        call_command("create_demo_accounts", stdout=io.StringIO())
    assert not get_user_model().objects.filter(username="kg_clerk").exists()
