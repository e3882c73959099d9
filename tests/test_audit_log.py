import json

import pytest
from django.urls import reverse

from smsconsole.models import Application, AuditLog
from tests import factories


def entries():
    return list(AuditLog.objects.order_by("id"))


def assert_no_secret(entry, secret):
    assert secret not in json.dumps([entry.before, entry.after, entry.object_repr])


def test_creating_an_application_is_audited_without_the_secret(alice_client, alice, acme):
    alice_client.post(
        reverse("application_create"), {"name": "Orders", "default_region": "CN", "ip_allowlist": "203.0.113.7"}
    )
    app = Application.objects.get(name="Orders")

    [entry] = entries()
    assert (entry.actor, entry.account, entry.action) == (alice, acme, "create")
    assert (entry.object_type, entry.object_id, entry.object_repr) == ("application", str(app.pk), "Orders")
    assert entry.before is None
    assert entry.after["name"] == "Orders"
    assert entry.after["ip_allowlist"] == "203.0.113.7"
    assert_no_secret(entry, app.app_secret)


def test_editing_records_only_the_changed_fields_before_and_after(alice_client, shop):
    data = {"name": "Shop", "default_region": "HK", "ip_allowlist": "", "upstream_url": "https://acme.example/mo"}

    alice_client.post(reverse("application_edit", args=[shop.pk]), data)

    [entry] = entries()
    assert entry.action == "edit"
    assert entry.before == {"default_region": "CN", "upstream_url": ""}
    assert entry.after == {"default_region": "HK", "upstream_url": "https://acme.example/mo"}


def test_saving_without_changes_writes_no_entry(alice_client, shop):
    alice_client.post(reverse("application_edit", args=[shop.pk]), {"name": "Shop", "default_region": "CN"})

    assert entries() == []


def test_resetting_the_secret_is_audited_without_either_secret(alice_client, alice, shop):
    old = shop.app_secret

    alice_client.post(reverse("application_reset_secret", args=[shop.pk]))

    shop.refresh_from_db()
    [entry] = entries()
    assert (entry.actor, entry.action) == (alice, "reset_secret")
    for secret in (old, shop.app_secret, shop.app_secret_encrypted):
        assert_no_secret(entry, secret)


def test_launch_and_suspend_record_the_status_change(alice_client, shop):
    alice_client.post(reverse("application_launch", args=[shop.pk]))
    alice_client.post(reverse("application_suspend", args=[shop.pk]))

    launch, suspend = entries()
    assert (launch.action, launch.before, launch.after) == ("launch", {"status": "created"}, {"status": "launched"})
    assert (suspend.action, suspend.before, suspend.after) == (
        "suspend",
        {"status": "launched"},
        {"status": "suspended"},
    )


def test_the_detail_page_lists_the_applications_recent_changes(alice_client, shop):
    alice_client.post(reverse("application_launch", args=[shop.pk]))

    response = alice_client.get(reverse("application_detail", args=[shop.pk]))

    assert [entry.action for entry in response.context["history"]] == ["launch"]


# Admin


@pytest.fixture
def admin_client_with_entry(admin_client, shop, alice):
    from smsconsole.models import audit

    entry = audit(alice, "launch", shop, before={"status": "created"}, after={"status": "launched"})
    return admin_client, entry


def test_the_admin_lists_and_filters_audit_entries(admin_client_with_entry):
    client, entry = admin_client_with_entry

    listing = client.get(reverse("admin:smsconsole_auditlog_changelist"), {"action": "launch", "q": "alice"})

    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [entry]


def test_audit_entries_cannot_be_added_changed_or_deleted_in_the_admin(admin_client_with_entry):
    client, entry = admin_client_with_entry

    assert client.get(reverse("admin:smsconsole_auditlog_add")).status_code == 403
    assert client.get(reverse("admin:smsconsole_auditlog_delete", args=[entry.pk])).status_code == 403
    client.post(reverse("admin:smsconsole_auditlog_change", args=[entry.pk]), {"action": "forged"})
    entry.refresh_from_db()
    assert entry.action == "launch"


def test_the_admin_never_offers_the_secret_for_editing(admin_client, shop):
    response = admin_client.get(reverse("admin:smsconsole_application_change", args=[shop.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "app_secret" not in html
    assert shop.app_secret not in html
    assert 'name="app_key"' not in html


def test_the_admin_suspend_action_goes_through_the_model_and_is_audited(admin_client, admin_user, shop):
    shop.launch()

    admin_client.post(
        reverse("admin:smsconsole_application_changelist"), {"action": "suspend", "_selected_action": [shop.pk]}
    )

    shop.refresh_from_db()
    assert shop.status == Application.Status.SUSPENDED
    [entry] = entries()
    assert (entry.actor, entry.action) == (admin_user, "suspend")


def test_the_admin_account_page_shows_memberships_inline(admin_client, acme, alice):
    response = admin_client.get(reverse("admin:smsconsole_account_change", args=[acme.pk]))

    assert response.status_code == 200
    assert "memberships-TOTAL_FORMS" in response.content.decode()


def test_an_edit_in_the_admin_is_audited(admin_client, admin_user, shop):
    data = {"name": "Shop", "upstream_url": "", "report_url": "", "ip_allowlist": "", "default_region": "HK"}

    response = admin_client.post(reverse("admin:smsconsole_application_change", args=[shop.pk]), data)

    assert response.status_code == 302
    [entry] = entries()
    assert (entry.actor, entry.action, entry.before, entry.after) == (
        admin_user,
        "edit",
        {"default_region": "CN"},
        {"default_region": "HK"},
    )


def test_the_admin_refuses_a_duplicate_name_in_the_account(admin_client, acme, shop):
    factories.create_application(acme, "Other")
    data = {"name": "Other", "upstream_url": "", "report_url": "", "ip_allowlist": "", "default_region": "CN"}

    response = admin_client.post(reverse("admin:smsconsole_application_change", args=[shop.pk]), data)

    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors


def test_the_admin_validates_the_allow_list_and_region_like_the_console(admin_client, shop):
    data = {"name": "Shop", "upstream_url": "", "report_url": "", "ip_allowlist": "10.0.0.300", "default_region": "ZZ"}

    response = admin_client.post(reverse("admin:smsconsole_application_change", args=[shop.pk]), data)

    assert set(response.context["adminform"].form.errors) == {"ip_allowlist", "default_region"}
