"""The content security policy forbids inline script, and no page of the console or the admin
needs any: a real browser reports no violation, and the behaviours moved to console.js work."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.test_browser_review_flow import console_login

TEXT = {"log_in": "Log in"}


def violations(page):
    """Console messages about the content security policy, collected from now on."""
    seen = []
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    return seen


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_console_pages_run_without_a_policy_violation(page, live_server, factories, acme, alice, shop):
    signature = factories.create_signature(shop)
    for number in range(3):
        factories.create_template(shop, signature=signature, name=f"t{number}", status="draft")
    seen = violations(page)
    console_login(page, live_server, TEXT, "alice")
    for name in (
        "dashboard",
        "application_list",
        "templates_app:template_list",
        "templates_app:template_create",
        "campaigns:campaign_list",
        "campaigns:import_create",
        "campaigns:opt_out_list",
    ):
        page.goto(live_server.url + reverse(name))
        expect(page.locator("main")).to_be_visible()
    # The live preview is htmx: it must still fetch and swap under the policy.
    page.goto(live_server.url + reverse("templates_app:template_create"))
    page.locator("#id_content").fill("Your order ${1} has shipped.")
    expect(page.locator("#preview-length")).to_be_visible()
    assert seen == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_select_all_and_confirmations_work_from_console_js(page, live_server, factories, acme, alice, shop):
    signature = factories.create_signature(shop)
    template = factories.create_template(shop, signature=signature, name="t0", status="draft")
    factories.create_template(shop, signature=signature, name="t1", status="draft")
    console_login(page, live_server, TEXT, "alice")
    page.goto(live_server.url + reverse("templates_app:template_list"))
    page.locator("input[data-select-all]").check()
    expect(page.locator('input[name="ids"]:checked')).to_have_count(2)

    page.goto(live_server.url + reverse("templates_app:template_detail", args=[template.pk]))
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("form[data-confirm] button").click()
    expect(page.locator("h1")).to_contain_text("t0")  # dismissed: nothing was deleted
    assert template.__class__.objects.filter(pk=template.pk).exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_admin_runs_without_a_policy_violation(page, live_server, factories, acme):
    from tests.contact_helpers import create_contact, create_contact_list

    create_contact(create_contact_list(acme))
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    seen = violations(page)
    page.goto(live_server.url + reverse("admin:login"))
    page.locator("#id_username").fill("root")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    for path in (
        "/admin/",
        "/admin/campaigns/contact/",
        "/admin/campaigns/contact/export/",
        "/admin/templates_app/template/",
    ):
        page.goto(live_server.url + path)
        expect(page.locator("#content")).to_be_visible()
    assert seen == []
