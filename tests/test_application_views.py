import pytest
from django.urls import reverse

from smsconsole.models import Application, AuditLog
from tests import factories

VALID = {
    "name": "Orders",
    "upstream_url": "https://acme.example/mo",
    "report_url": "https://acme.example/reports",
    "ip_allowlist": "203.0.113.7\n\n  198.51.100.0/24  \n2001:db8::/32",
    "default_region": "cn",
}

OBJECT_URLS = [
    "application_detail",
    "application_edit",
    "application_reset_secret",
    "application_launch",
    "application_suspend",
]
CHANGE_URLS = ["application_edit", "application_reset_secret", "application_launch", "application_suspend"]


def url(name, app=None):
    return reverse(name, args=[app.pk] if app else [])


def secret_key(app):
    return f"smsconsole:show-secret:smsconsole.application:{app.pk}"


def stored_sessions():
    from django.contrib.sessions.models import Session

    return [(row.session_data, str(row.get_decoded())) for row in Session.objects.all()]


# Creating


def test_it_creates_an_application_and_shows_its_secret_once(alice_client, acme):
    response = alice_client.post(url("application_create"), VALID)

    app = Application.objects.get(account=acme, name="Orders")
    assert response.status_code == 302
    assert response["Location"] == url("application_detail", app)
    assert app.status == Application.Status.CREATED
    assert app.ip_allowlist == "203.0.113.7\n198.51.100.0/24\n2001:db8::/32"
    assert app.default_region == "CN"

    # Until the page is opened the session holds a permission to show it, not the secret.
    assert all(app.app_secret not in raw + decoded for raw, decoded in stored_sessions())
    first = alice_client.get(url("application_detail", app))
    assert first.context["secret"] == app.app_secret
    assert app.app_secret in first.content.decode()
    assert "no-store" in first["Cache-Control"]

    second = alice_client.get(url("application_detail", app))
    assert second.context["secret"] is None
    assert app.app_secret not in second.content.decode()
    assert url("application_reset_secret", app) in second.content.decode()


def test_the_create_form_renders_for_an_operator(alice_client):
    response = alice_client.get(url("application_create"))
    assert response.status_code == 200
    assert 'name="ip_allowlist"' in response.content.decode()


def test_it_refuses_to_create_beyond_the_account_quota(alice_client, acme, settings):
    settings.SMS_MAX_APPLICATIONS_PER_ACCOUNT = 2
    factories.create_application(acme, "One")
    factories.create_application(acme, "Two")

    response = alice_client.post(url("application_create"), VALID)

    assert response.status_code == 200
    assert "at most 2 applications" in response.context["form"].errors["name"][0]
    assert Application.objects.filter(account=acme).count() == 2
    assert 'id="id_name_error"' in response.content.decode()


def test_the_quota_counts_only_the_own_account(alice_client, other_co, settings):
    settings.SMS_MAX_APPLICATIONS_PER_ACCOUNT = 1
    factories.create_application(other_co, "Theirs")

    response = alice_client.post(url("application_create"), VALID)

    assert response.status_code == 302


def test_a_duplicate_name_in_the_account_is_a_field_error(alice_client, shop):
    response = alice_client.post(url("application_create"), {**VALID, "name": "Shop"})

    assert response.status_code == 200
    assert "already has an application" in response.context["form"].errors["name"][0]


def test_the_same_name_is_allowed_in_another_account(alice_client, other_co):
    factories.create_application(other_co, "Orders")

    assert alice_client.post(url("application_create"), VALID).status_code == 302


@pytest.mark.parametrize("entry", ["300.1.1.1", "10.0.0.1/24", "example.com", "10.0.0.0/33"])
def test_an_invalid_allow_list_entry_is_reported_next_to_the_field(alice_client, acme, entry):
    response = alice_client.post(url("application_create"), {**VALID, "ip_allowlist": f"203.0.113.7\n{entry}"})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["ip_allowlist"]
    assert entry in errors["ip_allowlist"][0]
    assert "203.0.113.7," not in errors["ip_allowlist"][0]
    assert 'id="id_ip_allowlist_error"' in response.content.decode()
    assert not Application.objects.filter(account=acme).exists()


def test_an_empty_allow_list_is_accepted(alice_client, acme):
    assert alice_client.post(url("application_create"), {**VALID, "ip_allowlist": ""}).status_code == 302


@pytest.mark.parametrize("region", ["XX", "China", ""])
def test_an_unknown_default_region_is_refused(alice_client, region):
    response = alice_client.post(url("application_create"), {**VALID, "default_region": region})

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["default_region"]


def test_the_create_page_suggests_cn_as_default_region(alice_client):
    response = alice_client.get(url("application_create"))
    assert response.context["form"]["default_region"].value() == "CN"


# Editing


def test_an_operator_edits_an_application(alice_client, shop):
    data = {**VALID, "name": "Shop", "default_region": "HK"}
    response = alice_client.post(url("application_edit", shop), data)

    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.default_region == "HK"
    assert shop.upstream_url == VALID["upstream_url"]


def test_editing_keeps_the_name_unique_but_allows_keeping_its_own(alice_client, acme, shop):
    factories.create_application(acme, "Other")

    same = alice_client.post(url("application_edit", shop), {**VALID, "name": "Shop"})
    clash = alice_client.post(url("application_edit", shop), {**VALID, "name": "Other"})

    assert same.status_code == 302
    assert clash.status_code == 200
    assert "name" in clash.context["form"].errors


def test_editing_at_the_quota_is_allowed(alice_client, acme, shop, settings):
    settings.SMS_MAX_APPLICATIONS_PER_ACCOUNT = 1

    assert alice_client.post(url("application_edit", shop), {**VALID, "name": "Shop"}).status_code == 302


def test_the_edit_form_shows_the_current_values(alice_client, shop):
    response = alice_client.get(url("application_edit", shop))
    assert response.status_code == 200
    assert response.context["form"]["name"].value() == "Shop"


# Secret


def test_reset_secret_asks_for_confirmation_first(alice_client, shop):
    old = shop.app_secret_encrypted

    response = alice_client.get(url("application_reset_secret", shop))

    assert response.status_code == 200
    shop.refresh_from_db()
    assert shop.app_secret_encrypted == old


def test_reset_secret_issues_a_new_secret_shown_once(alice_client, shop):
    old_secret = shop.app_secret

    response = alice_client.post(url("application_reset_secret", shop))

    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.app_secret != old_secret
    assert all(shop.app_secret not in raw + decoded for raw, decoded in stored_sessions())
    assert alice_client.get(url("application_detail", shop)).context["secret"] == shop.app_secret
    assert alice_client.get(url("application_detail", shop)).context["secret"] is None


def test_a_secret_shown_once_is_not_shown_for_another_application(alice_client, acme, shop):
    other = factories.create_application(acme, "Other")
    alice_client.post(url("application_reset_secret", shop))

    assert alice_client.get(url("application_detail", other)).context["secret"] is None
    assert alice_client.session.get(secret_key(shop))


# Launch and suspend


def test_an_operator_launches_and_suspends_an_application(alice_client, shop):
    alice_client.post(url("application_launch", shop))
    shop.refresh_from_db()
    assert shop.status == Application.Status.LAUNCHED

    alice_client.post(url("application_suspend", shop))
    shop.refresh_from_db()
    assert shop.status == Application.Status.SUSPENDED


def test_a_refused_transition_is_shown_as_a_message(alice_client, shop):
    response = alice_client.post(url("application_suspend", shop), follow=True)

    shop.refresh_from_db()
    assert shop.status == Application.Status.CREATED
    shown = [str(m) for m in response.context["messages"]]
    assert any("cannot be changed" in m for m in shown)
    assert not AuditLog.objects.filter(action="suspend").exists()


@pytest.mark.parametrize("name", ["application_launch", "application_suspend"])
def test_launch_and_suspend_refuse_get(alice_client, shop, name):
    assert alice_client.get(url(name, shop)).status_code == 405
    shop.refresh_from_db()
    assert shop.status == Application.Status.CREATED


# Lists


def test_the_list_shows_the_accounts_applications_with_counts(alice_client, acme, shop):
    signature = factories.create_signature(shop, name="Acme")
    factories.create_template(shop, signature=signature, name="a")
    factories.create_template(shop, signature=signature, name="b")
    factories.create_application(acme, "Empty")

    response = alice_client.get(url("application_list"))

    rows = {app.name: (app.signature_count, app.template_count) for app in response.context["page"]}
    assert rows == {"Shop": (1, 2), "Empty": (0, 0)}


def test_the_list_hides_the_create_button_at_the_quota(alice_client, acme, shop, settings):
    settings.SMS_MAX_APPLICATIONS_PER_ACCOUNT = 1
    response = alice_client.get(url("application_list"))
    assert url("application_create") not in response.content.decode()


def test_the_list_runs_a_fixed_number_of_queries(alice_client, acme, django_assert_max_num_queries):
    for n in range(50):
        app = factories.create_application(acme, f"App {n}")
        factories.create_signature(app, name=f"Sig{n}")
    # session, user, membership, count, page
    with django_assert_max_num_queries(6):
        response = alice_client.get(url("application_list"))
    assert len(response.context["page"]) == 50


def test_the_list_is_paginated(alice_client, acme):
    for n in range(51):
        factories.create_application(acme, f"App {n}")
    response = alice_client.get(url("application_list"), {"page": 2})
    assert len(response.context["page"]) == 1


# Tenancy and roles


@pytest.mark.parametrize("name", OBJECT_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_accounts_member_gets_404_on_every_application_url(client, charlie, shop, name, method):
    client.force_login(charlie)
    response = getattr(client, method)(url(name, shop), VALID if name == "application_edit" else {})

    assert response.status_code == 404
    shop.refresh_from_db()
    assert shop.status == Application.Status.CREATED
    assert shop.name == "Shop"


def test_another_accounts_member_sees_none_in_the_list(client, charlie, shop):
    client.force_login(charlie)
    response = client.get(url("application_list"))

    assert list(response.context["page"]) == []
    assert "Shop" not in response.content.decode()


def test_read_only_member_sees_list_and_detail_without_change_buttons(client, bob, shop):
    client.force_login(bob)

    listing = client.get(url("application_list"))
    detail = client.get(url("application_detail", shop))

    assert [app.name for app in listing.context["page"]] == ["Shop"]
    assert url("application_create") not in listing.content.decode()
    assert detail.status_code == 200
    assert url("application_edit", shop) not in detail.content.decode()
    assert url("application_reset_secret", shop) not in detail.content.decode()


@pytest.mark.parametrize("name", CHANGE_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_read_only_member_gets_403_on_every_change_url(client, bob, shop, name, method):
    client.force_login(bob)
    old_secret = shop.app_secret_encrypted

    response = getattr(client, method)(url(name, shop), VALID if name == "application_edit" else {})

    assert response.status_code == 403
    shop.refresh_from_db()
    assert (shop.status, shop.name, shop.app_secret_encrypted) == (Application.Status.CREATED, "Shop", old_secret)
    assert not AuditLog.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_read_only_member_gets_403_on_create(client, bob, acme, method):
    client.force_login(bob)
    assert getattr(client, method)(url("application_create"), VALID).status_code == 403
    assert not Application.objects.filter(account=acme).exists()


def test_a_user_without_account_gets_403_on_the_list(client, rita):
    client.force_login(rita)
    assert client.get(url("application_list")).status_code == 403


@pytest.mark.parametrize("name", OBJECT_URLS)
def test_anonymous_visitors_are_sent_to_login(client, shop, name):
    response = client.get(url(name, shop))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_secret_is_not_shown_once_its_few_minutes_have_passed(alice_client, shop, time_machine):
    time_machine.move_to("2026-12-01 10:00:00+08:00", tick=False)
    alice_client.post(url("application_reset_secret", shop))
    time_machine.shift(11 * 60)
    assert alice_client.get(url("application_detail", shop)).context["secret"] is None
