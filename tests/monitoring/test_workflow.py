"""The approval workflow through the services: draft -> submitted -> approved | rejected -> corrected ->
resubmitted -> approved (locked) -> reopened; and the audit trail every step leaves."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from monitoring import services
from monitoring.models import Door, Observation, PeriodApproval
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def kg_people(reference):
    return {
        "clerk": user_with_role("clerk", reference.kg, username="kg_clerk"),
        "approver": user_with_role("approver", reference.kg, username="kg_approver"),
        "kz_clerk": user_with_role("clerk", reference.kz, username="kz_clerk"),
        "kz_approver": user_with_role("approver", reference.kz, username="kz_approver"),
    }


def _record(reference, user, value, period="2023", code="POU", door=Door.PAGE, **extra):
    return services.observation_record(
        country=reference.kg,
        indicator=reference.indicators[code],
        period=period,
        value=value,
        user=user,
        door=door,
        **extra,
    )


def test_a_clerk_records_a_draft_with_an_audit_row(reference, kg_people):
    # given a Kyrgyz clerk
    clerk = kg_people["clerk"]

    # when she records a value through the page
    observation = _record(reference, clerk, 5.1, comment="Survey 2023")

    # then it is a draft with its history row naming her and the door
    assert observation.status == Observation.Status.DRAFT
    assert observation.place_key == ""
    assert observation.period_start.isoformat() == "2023-01-01"
    history = list(observation.history.all())
    assert len(history) == 1
    assert history[0].history_user == clerk
    assert history[0].door == Door.PAGE
    assert history[0].value == 5.1


def test_recording_the_same_value_twice_writes_nothing(reference, kg_people):
    # given a recorded value
    observation = _record(reference, kg_people["clerk"], 5.1)

    # when the same value is recorded again
    again = _record(reference, kg_people["clerk"], 5.1)

    # then there is still one row and one history entry
    assert again.pk == observation.pk
    assert observation.history.count() == 1


@pytest.mark.parametrize(
    ("code", "period", "value", "field"),
    [
        ("POU", "2023", 101.0, "value"),  # above the valid range 0..100
        ("POU", "2023", -1.0, "value"),
        ("POU", "2023-05", 5.0, "period"),  # monthly period for an annual indicator
        ("PRICE_BREAD", "2023", 50.0, "period"),  # annual period for a monthly indicator
        ("POU", "23", 5.0, "period"),
        ("CEREAL_IDR", "2023", 50.0, "indicator"),  # derived: computed, never entered
        ("POU", "2023", float("nan"), "value"),
    ],
)
def test_bad_values_are_refused_naming_the_field_and_nothing_is_written(
    reference, kg_people, code, period, value, field
):
    # given a clerk and an empty table
    before = Observation.objects.count()

    # when she records a bad value
    with pytest.raises(ValidationError) as refused:
        _record(reference, kg_people["clerk"], value, period=period, code=code)

    # then the error names the field and nothing is written
    assert field in refused.value.message_dict
    assert Observation.objects.count() == before


def test_a_clerk_of_another_country_is_refused(reference, kg_people):
    # when the Kazakh clerk tries to record a Kyrgyz value
    with pytest.raises(PermissionDenied):
        _record(reference, kg_people["kz_clerk"], 5.0)

    # then nothing is written
    assert not Observation.objects.filter(country=reference.kg).exists()


def test_the_full_workflow_with_rejection_correction_approval_lock_and_reopening(reference, kg_people):
    clerk, approver = kg_people["clerk"], kg_people["approver"]
    # given two draft values of 2023
    pou = _record(reference, clerk, 5.1)
    _record(reference, clerk, 12.0, code="STUNTING")

    # when the clerk submits the period
    assert services.period_submit(country=reference.kg, period="2023", user=clerk, door=Door.PAGE) == 2

    # then the values wait for the approver and cannot be changed meanwhile
    assert set(Observation.objects.filter(country=reference.kg).values_list("status", flat=True)) == {"submitted"}
    assert PeriodApproval.objects.get(country=reference.kg, period="2023").status == "submitted"
    with pytest.raises(ValidationError):
        _record(reference, clerk, 6.0)

    # and a clerk may not approve, nor an approver of another state
    for outsider in (clerk, kg_people["kz_approver"]):
        with pytest.raises(PermissionDenied):
            services.period_approve(country=reference.kg, period="2023", user=outsider, door=Door.PAGE)

    # when the approver rejects without a reason, then she is asked for one
    with pytest.raises(ValidationError) as no_reason:
        services.period_reject(country=reference.kg, period="2023", user=approver, door=Door.PAGE, reason=" ")
    assert "reason" in no_reason.value.message_dict

    # when she rejects with a reason
    services.period_reject(
        country=reference.kg, period="2023", user=approver, door=Door.PAGE, reason="POU looks too low"
    )

    # then the clerk sees the reason on the value and the period
    pou.refresh_from_db()
    assert pou.status == "rejected"
    assert pou.rejection_reason == "POU looks too low"
    assert PeriodApproval.objects.get(country=reference.kg, period="2023").reason == "POU looks too low"

    # when the clerk corrects and resubmits
    _record(reference, clerk, 7.4)
    services.period_submit(country=reference.kg, period="2023", user=clerk, door=Door.PAGE)
    pou.refresh_from_db()
    assert (pou.status, pou.value, pou.rejection_reason) == ("submitted", 7.4, "")

    # and the approver approves
    services.period_approve(country=reference.kg, period="2023", user=approver, door=Door.PAGE)

    # then the period is locked: no change, no new value
    assert services.period_is_locked(country=reference.kg, period="2023")
    with pytest.raises(ValidationError) as locked:
        _record(reference, clerk, 8.0)
    assert "reopen" in str(locked.value)
    with pytest.raises(ValidationError):
        _record(reference, clerk, 3.0, code="WASTING")

    # when the approver reopens it with a reason
    services.period_reopen(
        country=reference.kg, period="2023", user=approver, door=Door.PAGE, reason="New survey published"
    )

    # then the values are drafts again and can be corrected
    _record(reference, clerk, 8.0)
    pou.refresh_from_db()
    assert (pou.status, pou.value) == ("draft", 8.0)

    # and the history of the value shows every step with who and why
    steps = [
        (row.status, row.value, row.history_user.username) for row in pou.history.order_by("history_date", "history_id")
    ]
    assert steps == [
        ("draft", 5.1, "kg_clerk"),
        ("submitted", 5.1, "kg_clerk"),
        ("rejected", 5.1, "kg_approver"),
        ("draft", 7.4, "kg_clerk"),
        ("submitted", 7.4, "kg_clerk"),
        ("approved", 7.4, "kg_approver"),
        ("draft", 7.4, "kg_approver"),
        ("draft", 8.0, "kg_clerk"),
    ]
    period_steps = list(
        PeriodApproval.objects.get(country=reference.kg, period="2023")
        .history.order_by("history_date", "history_id")
        .values_list("status", "reason", "history_user__username")
    )
    assert period_steps == [
        ("submitted", "", "kg_clerk"),
        ("rejected", "POU looks too low", "kg_approver"),
        ("submitted", "", "kg_clerk"),
        ("approved", "", "kg_approver"),
        ("open", "New survey published", "kg_approver"),
    ]


def test_reopen_needs_a_reason_and_an_approved_period(reference, kg_people):
    approver = kg_people["approver"]
    with pytest.raises(ValidationError) as no_reason:
        services.period_reopen(country=reference.kg, period="2023", user=approver, door=Door.PAGE, reason="")
    assert "reason" in no_reason.value.message_dict
    with pytest.raises(ValidationError) as not_approved:
        services.period_reopen(country=reference.kg, period="2023", user=approver, door=Door.PAGE, reason="x")
    assert "period" in not_approved.value.message_dict


def test_only_submitted_values_can_be_approved_and_nothing_is_half_done(reference, kg_people):
    # given one submitted and one draft value
    first = _record(reference, kg_people["clerk"], 5.0)
    services.observations_submit(observations=[first], user=kg_people["clerk"], door=Door.API)
    draft = _record(reference, kg_people["clerk"], 10.0, code="STUNTING")

    # when the approver approves both
    with pytest.raises(ValidationError) as refused:
        services.observations_approve(observations=[first, draft], user=kg_people["approver"], door=Door.API)

    # then the draft is named and neither changed
    assert "STUNTING" in str(refused.value)
    first.refresh_from_db()
    assert first.status == "submitted"


def test_approval_and_reopening_enqueue_the_alert_recompute_after_commit(
    reference, kg_people, django_capture_on_commit_callbacks
):
    clerk, approver = kg_people["clerk"], kg_people["approver"]
    _record(reference, clerk, 5.1)

    # when the clerk submits, nothing is enqueued (alerts read approved data only)
    with django_capture_on_commit_callbacks(execute=False) as submitted:
        services.period_submit(country=reference.kg, period="2023", user=clerk, door=Door.PAGE)
    assert submitted == []

    # when the approver approves, and later reopens, one recompute is enqueued after each commit
    with django_capture_on_commit_callbacks(execute=True) as approved:
        services.period_approve(country=reference.kg, period="2023", user=approver, door=Door.PAGE)
    with django_capture_on_commit_callbacks(execute=True) as reopened:
        services.period_reopen(country=reference.kg, period="2023", user=approver, door=Door.PAGE, reason="x")
    assert len(approved) == 1
    assert len(reopened) == 1
