import pytest
from django.urls import reverse

from smsconsole.models import AuditLog
from templates_app.models import NotificationContact


def url(name, *args):
    return reverse(f"templates_app:{name}", args=args)


def contact_post(**overrides):
    data = {
        "name": "Wang Wu",
        "phone": "138 0013 8000",
        "email": "wangwu@example.com",
        "notify_signature": "on",
        "notify_qualification": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_list_shows_the_accounts_contacts_only(alice_client, factories, acme, other_co):
    factories.create_contact(acme, name="Ops team", email="ops@acme.example")
    factories.create_contact(other_co, name="Their ops", email="ops@other.example")
    html = alice_client.get(url("contact_list")).content.decode()
    assert "Ops team" in html and "ops@acme.example" in html
    assert "Their ops" not in html


def test_the_list_runs_a_fixed_number_of_queries(alice_client, factories, acme, django_assert_max_num_queries):
    for number in range(10):
        factories.create_contact(acme, name=f"c{number}", email=f"c{number}@example.com")
    with django_assert_max_num_queries(6):
        response = alice_client.get(url("contact_list"))
    assert len(response.context["contacts"]) == 10


def test_adding_a_contact_normalises_the_phone_and_keeps_the_toggles(alice_client, alice, acme):
    response = alice_client.post(url("contact_create"), contact_post())
    assert response.status_code == 302
    contact = NotificationContact.objects.get(account=acme)
    assert contact.phone == "+8613800138000"
    assert (
        contact.notify_signature,
        contact.notify_template,
        contact.notify_traffic,
        contact.notify_qualification,
    ) == (True, False, False, True)
    assert AuditLog.objects.filter(action="create", object_type="notificationcontact", actor=alice).exists()


def test_the_phone_is_optional(alice_client, acme):
    alice_client.post(url("contact_create"), contact_post(phone=""))
    assert NotificationContact.objects.get(account=acme).phone == ""


@pytest.mark.parametrize("phone", ["12345", "not a number", "+86 138 0013", "99999999999999"])
def test_an_invalid_phone_is_an_error_on_the_phone_field(alice_client, phone):
    response = alice_client.post(url("contact_create"), contact_post(phone=phone))
    assert list(response.context["form"].errors) == ["phone"]
    assert not NotificationContact.objects.exists()


def test_a_number_of_another_region_is_accepted_with_its_prefix(alice_client, acme):
    alice_client.post(url("contact_create"), contact_post(phone="+852 6123 4567"))
    assert NotificationContact.objects.get(account=acme).phone == "+85261234567"


def test_an_invalid_email_is_an_error_on_the_email_field(alice_client):
    response = alice_client.post(url("contact_create"), contact_post(email="nope"))
    assert list(response.context["form"].errors) == ["email"]


def test_the_number_of_contacts_is_limited_per_account(alice_client, factories, acme, other_co, settings):
    settings.SMS_MAX_NOTIFICATION_CONTACTS = 2
    factories.create_contact(acme, name="One")
    factories.create_contact(other_co, name="Theirs")
    assert alice_client.post(url("contact_create"), contact_post()).status_code == 302
    response = alice_client.post(url("contact_create"), contact_post(name="Three"))
    assert response.status_code == 200
    assert "at most 2 notification contacts" in str(response.context["form"].non_field_errors())
    assert NotificationContact.objects.filter(account=acme).count() == 2


def test_editing_a_contact_at_the_limit_is_allowed(alice_client, factories, acme, settings):
    settings.SMS_MAX_NOTIFICATION_CONTACTS = 1
    contact = factories.create_contact(acme, name="Only")
    response = alice_client.post(url("contact_edit", contact.pk), contact_post(name="Only one", notify_signature=None))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.name == "Only one" and contact.notify_signature is False
    entry = AuditLog.objects.get(action="change", object_id=str(contact.pk))
    assert entry.before["notify_signature"] is True and entry.after["notify_signature"] is False


def test_deleting_a_contact(alice_client, factories, acme):
    contact = factories.create_contact(acme)
    assert alice_client.get(url("contact_delete", contact.pk)).status_code == 200
    assert alice_client.post(url("contact_delete", contact.pk)).status_code == 302
    assert not NotificationContact.objects.exists()
    assert AuditLog.objects.filter(action="delete", object_type="notificationcontact").exists()


@pytest.mark.parametrize("name", ["contact_edit", "contact_delete"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_accounts_member_gets_404(client, charlie, factories, acme, name, method):
    contact = factories.create_contact(acme, name="Acme ops")
    client.force_login(charlie)
    assert getattr(client, method)(url(name, contact.pk), contact_post()).status_code == 404
    contact.refresh_from_db()
    assert contact.name == "Acme ops"


def test_another_accounts_member_sees_nothing_in_the_list(client, charlie, factories, acme):
    factories.create_contact(acme, name="Acme ops", email="ops@acme.example")
    client.force_login(charlie)
    html = client.get(url("contact_list")).content.decode()
    assert "Acme ops" not in html and "ops@acme.example" not in html


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_read_only_member_gets_403_on_changes(client, bob, factories, acme, method):
    contact = factories.create_contact(acme, name="Acme ops")
    client.force_login(bob)
    for name, args in [("contact_create", ()), ("contact_edit", (contact.pk,)), ("contact_delete", (contact.pk,))]:
        assert getattr(client, method)(url(name, *args), contact_post()).status_code == 403
    assert list(NotificationContact.objects.values_list("name", flat=True)) == ["Acme ops"]


def test_a_read_only_member_sees_the_list_without_actions(client, bob, factories, acme):
    contact = factories.create_contact(acme, name="Acme ops")
    client.force_login(bob)
    html = client.get(url("contact_list")).content.decode()
    assert "Acme ops" in html
    assert url("contact_edit", contact.pk) not in html
