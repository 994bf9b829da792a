"""The permission matrix: every role, against its own and another state's data, through every door
(entry pages, admin, REST API, import service). Each forbidden attempt must be refused AND leave the
data exactly as it was. The allowed attempts run too, as a control: they must succeed, which proves the
requests are well-formed and the refusals come from the policy, not from a broken request.

The scene is Kyrgyzstan's data: 2021 approved and locked, 2022 submitted, 2023 a draft. The actors are
the Kyrgyz clerk and approver ("own"), the Kazakh clerk and approver ("other"), a Kazakh user holding
both roles, a regional analyst, a viewer, a deactivated Kyrgyz clerk and an anonymous visitor. Every
signed-in actor is made staff with every model permission on observations: the worst case, where only
the country scope stands between a person and another state's data.
"""

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.test import Client
from rest_framework.test import APIClient

from countries.models import Membership
from monitoring.imports.service import import_observations_file
from monitoring.models import Door, ImportBatch, Observation, PeriodApproval
from tests.factories import ObservationFactory, PeriodApprovalFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTORS = {
    # name: [(role, iso2)], active
    "kg_clerk": ([("clerk", "KG")], True),
    "kg_approver": ([("approver", "KG")], True),
    "kz_clerk": ([("clerk", "KZ")], True),
    "kz_approver": ([("approver", "KZ")], True),
    "kz_clerk_and_approver": ([("clerk", "KZ"), ("approver", "KZ")], True),
    "analyst": ([("analyst", None)], True),
    "viewer": ([("viewer", None)], True),
    "kg_clerk_deactivated": ([("clerk", "KG")], False),
    "anonymous": ([], True),
}


@pytest.fixture
def scene(reference, tmp_path) -> SimpleNamespace:
    kg = reference.kg
    pou, stunting = reference.indicators["POU"], reference.indicators["STUNTING"]
    approved = ObservationFactory(country=kg, indicator=pou, period="2021", value=5.0, status="approved")
    PeriodApprovalFactory(country=kg, period="2021", status="approved")
    submitted = ObservationFactory(country=kg, indicator=pou, period="2022", value=5.5, status="submitted")
    PeriodApprovalFactory(country=kg, period="2022", status="submitted")
    draft = ObservationFactory(country=kg, indicator=pou, period="2023", value=6.0, status="draft")
    permissions = list(
        Permission.objects.filter(content_type__app_label="monitoring", codename__endswith="observation")
    )
    users = {}
    for name, (roles, active) in ACTORS.items():
        if name == "anonymous":
            users[name] = AnonymousUser()
            continue
        user = UserFactory(username=name, is_staff=True, is_active=active)
        user.user_permissions.set(permissions)
        for role, iso2 in roles:
            Membership.objects.create(user=user, role=role, country=reference.countries[iso2] if iso2 else None)
        users[name] = user
    return SimpleNamespace(
        kg=kg,
        pou=pou,
        stunting=stunting,
        approved=approved,
        submitted=submitted,
        draft=draft,
        users=users,
        tmp=tmp_path,
    )


def snapshot() -> tuple:
    """Everything a forbidden attempt could have written: values, statuses, reasons, both audit trails."""
    return (
        list(
            Observation.objects.order_by("pk").values_list(
                "pk", "value", "flag", "status", "comment", "rejection_reason", "period"
            )
        ),
        Observation.history.count(),
        list(PeriodApproval.objects.order_by("pk").values_list("pk", "status", "reason")),
        PeriodApproval.history.count(),
        list(Membership.objects.order_by("pk").values_list("pk", "user_id", "role", "country_id")),
    )


# --- the doors ------------------------------------------------------------------------------------------------
# Each attempt returns True when the door refused it (by its own means: 401/403/404, a form error, an
# invisible row, a refused import). The test also checks that nothing changed.


def _page(user) -> Client:
    client = Client()
    if user.is_authenticated:
        client.force_login(user)
    return client


def _api(user) -> APIClient:
    client = APIClient()
    if user.is_authenticated:
        client.force_authenticate(user)
    return client


def _refused_page(response) -> bool:
    if response.status_code in (403, 404, 405):
        return True
    if response.status_code == 302:
        return "/login/" in response.url
    # 200 means the form came back with an error (nothing saved)
    return response.status_code == 200 and "errorlist" in response.content.decode()


def page_save(s, user):
    return _refused_page(_page(user).post("/entry/kg/2023/", {"value_POU": "7", "action": "save"}))


def page_save_new(s, user):
    return _refused_page(_page(user).post("/entry/kg/2023/", {"value_STUNTING": "11", "action": "save"}))


def page_submit(s, user):
    return _refused_page(_page(user).post("/entry/kg/2023/", {"action": "submit"}))


def page_approve(s, user):
    return _refused_page(_page(user).post("/entry/kg/2022/", {"action": "approve"}))


def page_reject(s, user):
    return _refused_page(_page(user).post("/entry/kg/2022/", {"action": "reject", "reason": "no"}))


def page_reopen(s, user):
    return _refused_page(_page(user).post("/entry/kg/2021/", {"action": "reopen", "reason": "fix"}))


def page_change_locked(s, user):
    response = _page(user).post("/entry/kg/2021/", {"value_POU": "9", "action": "save"})
    return _refused_page(response) or Observation.objects.get(pk=s.approved.pk).value == 5.0


def page_read_draft(s, user):
    response = _page(user).get("/entry/kg/2023/")
    return response.status_code != 200


def page_read_history(s, user):
    return _page(user).get(f"/entry/history/{s.draft.pk}/").status_code != 200


def page_check(s, user):
    response = _page(user).get("/entry/check/", {"country": "KG", "indicator": "POU", "period": "2023", "value": "5"})
    return response.status_code != 200


def _refused_api(response) -> bool:
    if response.status_code < 400:
        return False
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}  # the one error shape, always
    return True


def api_write(s, user):
    row = {"country": "KG", "indicator": "POU", "period": "2023", "value": 7.0}
    return _refused_api(_api(user).post("/api/v1/observations/", [row], format="json"))


def api_write_new(s, user):
    row = {"country": "KGZ", "indicator": "STUNTING", "period": "2023", "value": 11.0}
    return _refused_api(_api(user).post("/api/v1/observations/", row, format="json"))


def api_write_locked(s, user):
    row = {"country": "KG", "indicator": "POU", "period": "2021", "value": 9.0}
    return _refused_api(_api(user).post("/api/v1/observations/", [row], format="json"))


def api_write_new_in_locked(s, user):
    row = {"country": "KG", "indicator": "STUNTING", "period": "2021", "value": 11.0}
    return _refused_api(_api(user).post("/api/v1/observations/", [row], format="json"))


def api_submit_ids(s, user):
    return _refused_api(_api(user).post("/api/v1/observations/submit/", {"ids": [s.draft.pk]}, format="json"))


def api_submit_period(s, user):
    payload = {"country": "KG", "period": "2023"}
    return _refused_api(_api(user).post("/api/v1/observations/submit/", payload, format="json"))


def api_approve_ids(s, user):
    return _refused_api(_api(user).post("/api/v1/observations/approve/", {"ids": [s.submitted.pk]}, format="json"))


def api_approve_period(s, user):
    payload = {"country": "KG", "period": "2022"}
    return _refused_api(_api(user).post("/api/v1/observations/approve/", payload, format="json"))


def api_reject_ids(s, user):
    payload = {"ids": [s.submitted.pk], "reason": "no"}
    return _refused_api(_api(user).post("/api/v1/observations/reject/", payload, format="json"))


def api_reject_period(s, user):
    payload = {"country": "KG", "period": "2022", "reason": "no"}
    return _refused_api(_api(user).post("/api/v1/observations/reject/", payload, format="json"))


def api_reopen(s, user):
    payload = {"country": "KG", "period": "2021", "reason": "fix"}
    return _refused_api(_api(user).post("/api/v1/periods/reopen/", payload, format="json"))


def api_read_draft(s, user):
    return _api(user).get(f"/api/v1/observations/{s.draft.pk}/").status_code != 200


def api_list_draft(s, user):
    response = _api(user).get("/api/v1/observations/", {"country": "KG", "status": "draft"})
    return response.status_code != 200 or s.draft.pk not in [row["id"] for row in response.json()["results"]]


def api_update_verb(s, user):
    return _refused_api(_api(user).patch(f"/api/v1/observations/{s.draft.pk}/", {"value": 1.0}, format="json"))


def api_delete_verb(s, user):
    return _refused_api(_api(user).delete(f"/api/v1/observations/{s.draft.pk}/"))


ADMIN = "/admin/monitoring/observation/"


def _refused_admin(response) -> bool:
    if response.status_code in (403, 404):
        return True
    if response.status_code == 302:
        return "/login/" in response.url or response.url.endswith("/admin/")
    return response.status_code == 200 and "errornote" in response.content.decode()


def admin_add(s, user):
    data = {"indicator": s.stunting.pk, "country": s.kg.pk, "period": "2023", "value": "11", "flag": "", "comment": ""}
    data["source"] = ""
    return _refused_admin(_page(user).post(f"{ADMIN}add/", data))


def admin_change_draft(s, user):
    data = {"value": "7", "flag": "", "comment": "", "source": ""}
    return _refused_admin(_page(user).post(f"{ADMIN}{s.draft.pk}/change/", data))


def admin_change_submitted(s, user):
    data = {"value": "7", "flag": "", "comment": "", "source": ""}
    return _refused_admin(_page(user).post(f"{ADMIN}{s.submitted.pk}/change/", data))


def admin_change_approved(s, user):
    data = {"value": "7", "flag": "", "comment": "", "source": ""}
    return _refused_admin(_page(user).post(f"{ADMIN}{s.approved.pk}/change/", data))


def _admin_action(user, action: str, pk: int) -> bool:
    before = snapshot()
    response = _page(user).post(ADMIN, {"action": action, "_selected_action": [pk]})
    return _refused_admin(response) or snapshot() == before


def admin_action_submit(s, user):
    return _admin_action(user, "submit_selected", s.draft.pk)


def admin_action_approve(s, user):
    return _admin_action(user, "approve_selected", s.submitted.pk)


def admin_delete(s, user):
    return _refused_admin(_page(user).post(f"{ADMIN}{s.draft.pk}/delete/", {"post": "yes"}))


def admin_changelist_shows_draft(s, user):
    response = _page(user).get(ADMIN, {"status__exact": "draft"})
    return response.status_code != 200 or f"{ADMIN}{s.draft.pk}/change/" not in response.content.decode()


def admin_history(s, user):
    return _page(user).get(f"{ADMIN}{s.draft.pk}/history/").status_code != 200


def admin_revert(s, user):
    version = s.draft.history.first()
    if version is None:
        return True
    data = {"value": "1", "flag": "", "comment": "", "source": ""}
    return _refused_admin(_page(user).post(f"{ADMIN}{s.draft.pk}/history/{version.history_id}/", data))


def admin_grant_role(s, user):
    """A person widening their own scope: grant themselves the Kyrgyz approver role."""
    target = s.users["kg_clerk"].pk if not user.is_authenticated else user.pk
    data = {"user": target, "role": "approver", "country": s.kg.pk}
    return _refused_admin(_page(user).post("/admin/countries/membership/add/", data))


def _import(s, user, rows: str) -> bool:
    path = s.tmp / "upload.csv"
    path.write_text("country,indicator,period,value\n" + rows, encoding="utf-8")
    batch = import_observations_file(path=path, file_format="template", user=user, door=Door.PAGE)
    return batch.status == ImportBatch.Status.REFUSED


def import_change(s, user):
    return _import(s, user, "KG,POU,2023,7\n")


def import_new(s, user):
    return _import(s, user, "KGZ,STUNTING,2023,11\n")


def import_locked(s, user):
    return _import(s, user, "KG,POU,2021,9\n")


def import_new_in_locked(s, user):
    return _import(s, user, "KG,STUNTING,2021,11\n")


DOORS: dict[str, Callable] = {
    function.__name__: function
    for function in (
        page_save,
        page_save_new,
        page_submit,
        page_approve,
        page_reject,
        page_reopen,
        page_change_locked,
        page_read_draft,
        page_read_history,
        page_check,
        api_write,
        api_write_new,
        api_write_locked,
        api_write_new_in_locked,
        api_submit_ids,
        api_submit_period,
        api_approve_ids,
        api_approve_period,
        api_reject_ids,
        api_reject_period,
        api_reopen,
        api_read_draft,
        api_list_draft,
        api_update_verb,
        api_delete_verb,
        admin_add,
        admin_change_draft,
        admin_change_submitted,
        admin_change_approved,
        admin_action_submit,
        admin_action_approve,
        admin_delete,
        admin_changelist_shows_draft,
        admin_history,
        admin_revert,
        admin_grant_role,
        import_change,
        import_new,
        import_locked,
        import_new_in_locked,
    )
}

READS = {
    "page_read_draft",
    "page_read_history",
    "page_check",
    "api_read_draft",
    "api_list_draft",
    "admin_changelist_shows_draft",
    "admin_history",
}
ENTER = {
    "page_save",
    "page_save_new",
    "page_submit",
    "api_write",
    "api_write_new",
    "api_submit_ids",
    "api_submit_period",
    "admin_add",
    "admin_change_draft",
    "admin_action_submit",
    "import_change",
    "import_new",
}
APPROVE = {
    "page_approve",
    "page_reject",
    "page_reopen",
    "api_approve_ids",
    "api_approve_period",
    "api_reject_ids",
    "api_reject_period",
    "api_reopen",
    "admin_action_approve",
}
# Who may do what to Kyrgyz data; everything else in the matrix is forbidden. (Changing a locked or
# submitted value, deleting, reverting and PUT/PATCH/DELETE on the API are forbidden to all of them.)
ALLOWED = (
    {("kg_clerk", door) for door in ENTER | READS}
    | {("kg_approver", door) for door in APPROVE | READS}
    | {("analyst", door) for door in READS}
)
FORBIDDEN = [(actor, door) for actor in ACTORS for door in DOORS if (actor, door) not in ALLOWED]


def test_the_matrix_has_at_least_200_forbidden_attempts():
    assert len(FORBIDDEN) >= 200, len(FORBIDDEN)
    assert {door.split("_")[0] for _, door in FORBIDDEN} == {"page", "api", "admin", "import"}


@pytest.mark.parametrize(("actor", "door"), FORBIDDEN)
def test_forbidden_attempt_is_refused_and_writes_nothing(scene, actor, door):
    # given the scene and its state
    before = snapshot()

    # when the actor tries
    refused = DOORS[door](scene, scene.users[actor])

    # then the door refused and nothing changed
    assert refused, f"{actor} was not refused at {door}"
    assert snapshot() == before


@pytest.mark.parametrize(("actor", "door"), sorted(ALLOWED))
def test_allowed_attempt_succeeds_as_a_control(scene, actor, door):
    # given the scene
    before = snapshot()

    # when the actor with the right role tries
    refused = DOORS[door](scene, scene.users[actor])

    # then it works, and a write changed the data
    assert not refused, f"{actor} was refused at {door}"
    if door not in READS:
        assert snapshot() != before


def test_an_administrator_can_grant_a_role_as_a_control(scene):
    # given an administrator (the only one who may change scopes)
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    clerk = scene.users["kg_clerk"]

    # when she grants the Kyrgyz clerk the approver role through the admin
    data = {"user": clerk.pk, "role": "approver", "country": scene.kg.pk}
    response = _page(admin_user).post("/admin/countries/membership/add/", data)

    # then the membership exists
    assert response.status_code == 302
    assert Membership.objects.filter(user=clerk, role="approver", country=scene.kg).exists()
