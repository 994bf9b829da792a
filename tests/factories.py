"""Shared factory_boy factories. Reference data (countries, regions, indicators) is loaded once per test
database (tests/conftest.py), so factories look those up instead of inventing them."""

from functools import cache

import factory
import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from countries.models import Country, Market, Membership
from monitoring import periods
from monitoring.alerts import engine
from monitoring.alerts.models import Score
from monitoring.models import Indicator, Observation, PeriodApproval

PASSWORD = "test-Password-2026"


@cache
def _password_hash() -> str:
    """Hash the test password once: PBKDF2 is slow on purpose, and tests create many users."""
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.LazyFunction(_password_hash)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Membership.Role.CLERK
    country = factory.LazyFunction(lambda: Country.objects.get(iso2="KG"))


def user_with_role(role: str, country: Country | None = None, username: str | None = None, **user_fields):
    """A user holding one membership: `user_with_role("clerk", reference.kg)`."""
    user = UserFactory(username=username or f"{role}_{country.iso2.lower() if country else 'all'}", **user_fields)
    Membership.objects.get_or_create(user=user, role=role, country=country if role in ("clerk", "approver") else None)
    return user


class MarketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Market
        django_get_or_create = ("country", "code")

    country = factory.LazyFunction(lambda: Country.objects.get(iso2="KG"))
    code = factory.Sequence(lambda n: f"market-{n}")
    name = factory.LazyAttribute(lambda market: market.code.replace("-", " ").title())


class ObservationFactory(factory.django.DjangoModelFactory):
    """A value written straight to the table (for setting up a scene); tests of the workflow itself go
    through `monitoring.services`."""

    class Meta:
        model = Observation

    indicator = factory.LazyFunction(lambda: Indicator.objects.get(code="POU"))
    country = factory.LazyFunction(lambda: Country.objects.get(iso2="KG"))
    period = "2020"
    period_start = factory.LazyAttribute(lambda obs: periods.parse_period(obs.period).start)
    place_key = factory.LazyAttribute(
        lambda obs: f"market:{obs.market.code}" if obs.market else (obs.region.code if obs.region else "")
    )
    region = None
    market = None
    value = 10.0
    status = Observation.Status.APPROVED


class PeriodApprovalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PeriodApproval
        django_get_or_create = ("country", "period")

    country = factory.LazyFunction(lambda: Country.objects.get(iso2="KG"))
    period = "2020"
    period_start = factory.LazyAttribute(lambda approval: periods.parse_period(approval.period).start)
    status = PeriodApproval.Status.APPROVED


SCORE_COLUMNS = [
    "rule_id", "method", "indicator_id", "country_id", "region_id", "market_id", "place_key", "period",
    "period_start", "value", "score", "method_class", "level", "insufficient_reason",
]  # fmt: skip


def _stored_scores(queryset) -> pd.DataFrame:
    rows = pd.DataFrame.from_records(list(queryset.values("id", *SCORE_COLUMNS, "inputs")))
    if rows.empty:
        return pd.DataFrame(columns=["id", *SCORE_COLUMNS, "basis"])
    rows["basis"] = [inputs.get("prices", "") for inputs in rows.pop("inputs")]
    return rows


def scores_create(rows: list[dict]) -> None:
    """Scores (the fields of `Score`, objects or ids) written as the engine stores them, one row of lists
    per series; a row of a series that is stored already is added to it."""
    new = pd.DataFrame(
        [
            {
                **{f"{name}_id": value.pk for name, value in row.items() if hasattr(value, "pk")},
                **{name: value for name, value in row.items() if not hasattr(value, "pk")},
            }
            for row in rows
        ]
    )
    if "place_key" not in new:
        new["place_key"] = ""
    keys = new[["rule_id", "indicator_id", "country_id"]].drop_duplicates()
    stored = Score.objects.none()
    for rule_id, indicator_id, country_id in keys.itertuples(index=False):
        stored |= Score.objects.filter(rule_id=rule_id, indicator_id=indicator_id, country_id=country_id)
    existing = _stored_scores(stored).drop(columns="id")
    engine.scores_store(pd.concat([existing, new], ignore_index=True) if len(existing) else new)


def scores_update(queryset, **changes) -> None:
    """Change the given scores (a Score queryset) in their stored series."""
    chosen = set(queryset.values_list("id", flat=True))
    series = Score.objects.filter(series_id__in=set(queryset.values_list("series_id", flat=True)))
    rows = _stored_scores(series)
    for name, value in changes.items():
        rows.loc[rows["id"].isin(chosen), name] = value
    engine.scores_store(rows.drop(columns="id"))
