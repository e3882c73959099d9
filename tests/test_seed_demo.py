import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from sms import text
from smsconsole.models import Account, Application, Membership
from templates_app import rules
from templates_app.models import (
    MAGIC,
    NotificationContact,
    Qualification,
    Signature,
    Template,
    TemplateVariable,
)

pytestmark = pytest.mark.django_db

TYPES = {"verification", "notification", "promotion"}


def seed(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def seed_json(*args):
    return json.loads(seed("--json", *args))


def counts():
    User = get_user_model()
    return {
        model.__name__: model.objects.count()
        for model in (
            User,
            Account,
            Membership,
            Application,
            Qualification,
            Signature,
            Template,
            TemplateVariable,
            NotificationContact,
        )
    } | {"permissions": User.user_permissions.through.objects.count()}


def test_running_it_twice_changes_nothing_and_keeps_the_app_key_and_secret():
    first = seed_json()
    before = counts()
    password_hashes = dict(get_user_model().objects.values_list("username", "password"))

    second = seed_json("--show-secret")

    assert counts() == before
    assert dict(get_user_model().objects.values_list("username", "password")) == password_hashes
    assert second == first
    assert before["Application"] == 1


def test_the_secret_is_printed_when_created_and_on_request_only():
    created = seed_json()["applications"][0]["app_secret"]
    again = seed_json()["applications"][0]
    assert created and again["app_secret"] is None
    assert "seed_demo --show-secret" in seed() and created not in seed()
    assert seed_json("--show-secret")["applications"][0]["app_secret"] == created


def test_the_json_output_is_one_object_of_the_documented_shape(settings):
    settings.CONSOLE_URL = "http://127.0.0.1:8123/"

    data = seed_json()

    assert set(data) == {"console_url", "users", "applications"}
    assert data["console_url"] == "http://127.0.0.1:8123/"
    assert [(u["username"], u["role"]) for u in data["users"]] == [
        ("demo-operator", "operator"),
        ("demo-viewer", "read_only"),
        ("demo-reviewer", "reviewer"),
        ("admin", "admin"),
    ]
    assert all(set(u) == {"username", "password", "role"} and isinstance(u["password"], str) for u in data["users"])
    [app] = data["applications"]
    assert set(app) == {"name", "app_key", "app_secret", "signatures", "templates"}
    assert app["name"] == "Demo App"
    assert isinstance(app["app_key"], str) and isinstance(app["app_secret"], str) and app["app_secret"]
    assert {s["type"] for s in app["signatures"]} == TYPES
    for signature in app["signatures"]:
        assert set(signature) == {"name", "type", "channel_number"}
        assert signature["channel_number"].isdigit()
    assert {t["type"] for t in app["templates"]} == TYPES
    for template in app["templates"]:
        assert set(template) == {"id", "name", "type", "content", "signature"}
        assert isinstance(template["id"], int)
        assert template["signature"] in {s["name"] for s in app["signatures"]}


def test_the_printed_secret_is_the_one_stored_encrypted_for_the_application():
    app_data = seed_json()["applications"][0]

    app = Application.objects.get(app_key=app_data["app_key"])
    assert app.app_secret == app_data["app_secret"]
    assert app_data["app_secret"] not in app.app_secret_encrypted
    assert app.status == Application.Status.LAUNCHED


def test_every_template_is_active_and_passes_the_template_rules():
    seed()

    templates = Template.objects.select_related("signature").prefetch_related("variables")
    assert {t.type for t in templates} == TYPES
    for template in templates:
        variables = [(v.attribute, v.max_length) for v in template.variables.all()]
        assert template.status == Template.Status.ACTIVE
        assert len(variables) == len(text.find_variables(template.content))
        assert rules.validate_template(template.content, template.type, variables, template.signature.name) == []


def test_the_notification_templates_have_exactly_one_variable():
    seed()

    notifications = Template.objects.filter(type="notification")
    assert notifications.filter(content="Your order ${1} has shipped.").exists()
    for template in notifications:
        assert len(text.find_variables(template.content)) == 1
        assert template.variables.count() == 1


def test_the_verification_templates_take_a_short_code():
    seed()

    for template in Template.objects.filter(type="verification"):
        [variable] = template.variables.all()
        assert variable.attribute == TemplateVariable.Attribute.CHARDIGIT
        assert variable.max_length <= 6


def test_promotion_templates_carry_an_opt_out():
    seed()

    contents = list(Template.objects.filter(type="promotion").values_list("content", flat=True))
    assert any(content.endswith("拒收请回复R") for content in contents)


def test_signatures_of_each_type_are_reviewed_filed_and_sendable_with_a_channel_number():
    seed()
    seed()  # a second run finds them filed already

    signatures = Signature.objects.all()
    assert {s.type for s in signatures} == TYPES
    for signature in signatures:
        assert signature.status == Signature.Status.APPROVED and signature.can_send
        assert signature.channel_number and signature.filed_at
        assert signature.reviewed_by.username == signature.carrier_answered_by.username == "demo-reviewer"


def test_the_qualification_is_approved_with_real_documents_in_storage():
    seed()

    qualification = Qualification.objects.get()
    assert qualification.status == Qualification.Status.APPROVED
    for field in ("business_licence", "legal_person_id", "handler_id_front", "handler_id_back"):
        document = getattr(qualification, field)
        extension = "." + document.name.rsplit(".", 1)[1]
        with document.open("rb") as stored:
            head = stored.read(16)
        assert any(head.startswith(magic) for magic in MAGIC[extension])


def test_roles_and_permissions_are_as_documented():
    seed()

    User = get_user_model()
    operator, viewer, reviewer, admin = (
        User.objects.get(username=name) for name in ("demo-operator", "demo-viewer", "demo-reviewer", "admin")
    )
    assert operator.membership.role == Membership.Role.OPERATOR
    assert viewer.membership.role == Membership.Role.READ_ONLY
    assert operator.membership.account.name == viewer.membership.account.name == "Demo Company"
    assert reviewer.is_staff and not reviewer.is_superuser
    assert not Membership.objects.filter(user=reviewer).exists()
    for model in ("qualification", "signature", "template"):
        assert reviewer.has_perm(f"templates_app.view_{model}")
        assert reviewer.has_perm(f"templates_app.change_{model}")
    # Other accounts' contacts, members and audit trail are not a reviewer's business.
    for permission in (
        "templates_app.change_notificationcontact",
        "campaigns.view_contact",
        "campaigns.view_optout",
        "smsconsole.view_membership",
        "smsconsole.view_auditlog",
    ):
        assert not reviewer.has_perm(permission)
    assert reviewer.has_perm("smsconsole.view_application")
    assert not reviewer.has_perm("smsconsole.change_application")
    assert not reviewer.has_perm("templates_app.delete_template")
    assert admin.is_superuser


def test_every_printed_login_works(client):
    users = seed_json()["users"]

    for user in users:
        assert client.login(username=user["username"], password=user["password"])


def test_seed_password_sets_the_logins_and_a_later_change_takes_effect(client, monkeypatch):
    monkeypatch.setenv("SEED_PASSWORD", "first-secret-pass")
    seed()
    monkeypatch.setenv("SEED_PASSWORD", "second-secret-pass")

    users = seed_json()["users"]

    assert {u["password"] for u in users} == {"second-secret-pass"}
    assert client.login(username="demo-operator", password="second-secret-pass")
    assert not client.login(username="demo-operator", password="first-secret-pass")


def test_one_notification_contact_is_seeded():
    seed()

    contact = NotificationContact.objects.get()
    assert contact.account.name == "Demo Company"


def test_the_readable_summary_shows_the_url_logins_and_keys():
    data = seed_json()

    text = seed()

    app = data["applications"][0]
    assert data["console_url"] in text
    assert app["app_key"] in text and "--show-secret" in text
    assert app["app_secret"] in seed("--show-secret")
    for user in data["users"]:
        assert user["username"] in text


def test_the_demo_account_is_activated_by_its_operator_and_the_reviewer():
    from accounts.models import ServiceApplication

    seed()
    seed()
    (application,) = ServiceApplication.objects.all()
    assert application.status == ServiceApplication.Status.APPROVED
    assert (application.applied_by.username, application.reviewed_by.username) == ("demo-operator", "demo-reviewer")
