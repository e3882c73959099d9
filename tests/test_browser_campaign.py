"""Creating, scheduling and cancelling a campaign in headless Chromium.

Launch arguments for Debian's Chromium come from tests/conftest.py (`browser_type_launch_args`),
which skips these tests when /usr/bin/chromium is missing (fails them under REQUIRE_SERVICES=1).
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import importer
from campaigns.models import Campaign
from tests.campaign_helpers import ORDER_FILE, create_connection, create_order_setup
from tests.factories import PASSWORD
from tests.import_helpers import create_import

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator(".who")).to_contain_text(username)


def settled(page):
    """Waits for htmx to finish the last swap: an element swapped in moments ago has no listener yet."""
    # A locator, not wait_for_function: the page's content security policy forbids evaluating strings.
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)


def choose(page, selector, value):
    settled(page)
    page.select_option(selector, value)


def test_an_operator_schedules_a_campaign_through_the_cascade_confirms_and_cancels_it(
    page, live_server, factories, acme, alice, shop
):
    create_connection()
    signature, template = create_order_setup(factories, shop)
    imp = create_import(acme, shop, template, name="orders.csv", data=ORDER_FILE)
    importer.run_import(imp.pk)
    tomorrow = timezone.localtime() + timedelta(days=1)

    log_in(page, live_server, "alice")
    page.click("nav.mainnav >> text=Campaigns")
    page.click("text=New campaign")
    page.fill("#id_name", "Order notices")
    # Each choice reloads the select that depends on it.
    expect(page.locator("#id_signature option")).to_have_count(1)
    choose(page, "#id_application", str(shop.pk))
    expect(page.locator("#id_signature option")).to_have_count(2)
    choose(page, "#id_signature", str(signature.pk))
    expect(page.locator("#id_template option")).to_have_count(2)
    choose(page, "#id_template", str(template.pk))
    # The file carries each recipient's values, so choosing it asks for none.
    choose(page, "#id_audience", f"import:{imp.pk}")
    expect(page.locator("#per-recipient-help")).to_be_visible()
    expect(page.locator("#id_var_1")).to_have_count(0)
    settled(page)
    page.check("input[name=when][value=scheduled]")
    page.fill("#id_scheduled_at", tomorrow.strftime("%Y-%m-%dT10:00"))
    page.click("text=Save and continue")

    expect(page.locator("#confirm-recipients")).to_have_text("2")
    expect(page.locator("#confirm-opted-out")).to_have_text("0")
    expect(page.locator("#confirm-to-send")).to_have_text("2")
    expect(page.locator("#confirm-segments")).to_have_text("2")
    expect(page.locator("#confirm-time")).to_contain_text(tomorrow.strftime("%Y-%m-%d 10:00"))
    expect(page.locator("#confirm-preview")).to_contain_text("【Shop】您的订单A100已发货，收货人张三。")
    page.click("#confirm-launch")

    expect(page.locator("#campaign-status")).to_have_text("Scheduled")
    campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.SCHEDULED
    # The engine's own cancel path is tested with the engine; here only the page is.
    with mock.patch("campaigns.tasks.cancel_queued_messages") as cancel_task:
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#campaign-cancel")
        expect(page.locator("#campaign-status")).to_have_text("Cancelled")
    cancel_task.delay.assert_called_once_with(campaign.pk)
    expect(page.locator("#campaign-cancel")).to_have_count(0)
