"""Every admin URL, walked as each staff role: a reviewer reaches only the review desk and the
account and application behind what it reviews; a staff user without permissions reaches no
model page; nothing answers a superuser with a server error.

The URLs come from the admin site itself (every registered model admin's `get_urls()`, the
import/export and review-decision views included), so an admin added later is walked too.
"""

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from campaigns.models import Contact, OptOut
from smsconsole import roles
from smsconsole.models import AuditLog, audit
from tests import campaign_helpers, contact_helpers

# Views that answer every staff user: the legacy "<id>/" redirect to the change page (which
# checks permissions itself) and the autocomplete endpoint.
REDIRECT_PATTERNS = {"<path:object_id>/"}

REVIEWER_CAN_VIEW = {
    (app_label, model) for app_label, model, actions in roles.REVIEWER_PERMISSIONS if "view" in actions
}
REVIEWER_CAN_CHANGE = {
    (app_label, model) for app_label, model, actions in roles.REVIEWER_PERMISSIONS if "change" in actions
}


@pytest.fixture
def one_of_everything(factories, acme, alice, rita):
    """At least one row of every model the admin shows, so object URLs have something to name."""
    app = factories.create_application(acme, "Shop")
    factories.create_qualification(acme)
    signature, template = campaign_helpers.create_order_setup(factories, app)
    factories.create_contact(acme)
    contact_list = contact_helpers.create_contact_list(acme)
    contact_helpers.create_contact(contact_list)
    contact_helpers.create_opt_out(acme)
    connection = campaign_helpers.create_connection()
    recipient_import = campaign_helpers.create_completed_import(acme, app, template)
    campaign_helpers.create_campaign(acme, template, connection, recipient_import=recipient_import)
    audit(alice, "create", app)
    Group.objects.get_or_create(name="Support")
    return app


def admin_urls():
    """(model admin, URL pattern text, URL) for every view of every registered model admin."""
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        obj = model._default_manager.order_by("pk").first()
        for pattern in model_admin.get_urls():
            text = str(pattern.pattern)
            if "<path:object_id>" in text:
                if obj is None:
                    continue
                text_with_id = text.replace("<path:object_id>", str(obj.pk))
            else:
                text_with_id = text
            url = f"/admin/{opts.app_label}/{opts.model_name}/" + re.sub(r"^\^|\$$", "", text_with_id)
            yield model, text, url


def refused(method, status):
    # A POST-only view may turn a GET away before it checks permissions; it reveals nothing.
    return status == 403 or (method == "get" and status == 405)


def walk(client):
    """Every admin URL with GET and POST; returns (method, url, status, pattern, model)."""
    seen = []
    for model, pattern, url in admin_urls():
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            seen.append((method, url, response.status_code, pattern, model))
    return seen


@pytest.mark.django_db
def test_the_walk_covers_the_import_export_and_decision_views(one_of_everything):
    urls = {url for _model, _pattern, url in admin_urls()}
    for expected in (
        "/admin/campaigns/contact/import/",
        "/admin/campaigns/contact/process_import/",
        "/admin/campaigns/contact/export/",
        "/admin/campaigns/optout/export/",
    ):
        assert expected in urls
    assert any(url.endswith("/approve/") for url in urls)


def test_a_reviewer_reaches_only_the_review_desk_and_what_it_belongs_to(client, rita, one_of_everything):
    client.force_login(rita)
    for method, url, status, pattern, model in walk(client):
        key = (model._meta.app_label, model._meta.model_name)
        if pattern in REDIRECT_PATTERNS:
            assert status in (301, 302), (method, url, status)
        elif key not in REVIEWER_CAN_VIEW:
            assert refused(method, status), (method, url, status)
        elif pattern.endswith(("add/", "delete/")):
            assert refused(method, status), (method, url, status)
        elif pattern.endswith("change/") and method == "post":
            # Review pages are read-only; decisions are made with their own buttons.
            assert refused(method, status), (method, url, status)
        elif pattern.endswith(("approve/", "reject/")):
            assert key in REVIEWER_CAN_CHANGE
            assert status in (200, 302, 405), (method, url, status)
        else:
            assert status < 400 or status == 405, (method, url, status)


def test_the_import_and_export_of_contacts_and_opt_outs_are_refused_to_a_reviewer(client, rita, one_of_everything):
    client.force_login(rita)
    for url in (
        "/admin/campaigns/contact/export/",
        "/admin/campaigns/optout/export/",
        "/admin/campaigns/contact/import/",
        "/admin/campaigns/contact/process_import/",
        "/admin/campaigns/optout/import/",
        "/admin/campaigns/optout/process_import/",
    ):
        assert client.post(url, {"format": "0", "resource": "0"}).status_code == 403, url
        assert refused("get", client.get(url).status_code), url
    assert Contact.objects.count() == 1
    assert OptOut.objects.count() == 1


def test_a_staff_user_without_permissions_reaches_no_model_page(client, factories, one_of_everything):
    nobody = factories.create_user("nobody", staff=True)
    client.force_login(nobody)
    for method, url, status, pattern, _model in walk(client):
        if pattern in REDIRECT_PATTERNS:
            assert status in (301, 302), (method, url, status)
        else:
            assert refused(method, status), (method, url, status)


def test_nothing_answers_a_superuser_with_a_server_error(client, one_of_everything):
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests")
    client.force_login(superuser)
    for method, url, status, _pattern, _model in walk(client):
        assert status < 500, (method, url, status)
    assert AuditLog.objects.exists()


def test_a_reviewer_holds_exactly_the_reviewer_group_permissions(rita):
    assert not rita.user_permissions.exists()
    granted = {p.split(".", 1)[1] for p in rita.get_all_permissions()}
    expected = {f"{action}_{model}" for _app, model, actions in roles.REVIEWER_PERMISSIONS for action in actions}
    assert granted == expected
