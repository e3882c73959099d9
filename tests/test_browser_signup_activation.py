"""From a new sign-up to the first campaign in headless Chromium, in English and in Chinese: the
emailed link, the service application with its due time, the reviewer's approval in the admin,
then an application and a scheduled campaign. Content review has its own browser test
(test_browser_review_flow.py); here approved content is laid out directly once the account may have it."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import ServiceApplication
from campaigns.models import Campaign, Contact, ContactList
from smsconsole.models import Application, Membership
from tests.campaign_helpers import create_connection
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Lantern-river-042"
TEXT = {
    "en": {
        "create_account": "Create an account",
        "applied": "Your application was submitted.",
        "pending": "Pending review",
        "approved_one": "1 item approved.",
        "activated": "Activated",
        "scheduled": "Scheduled",
    },
    "zh-hans": {
        "create_account": "注册账号",
        "applied": "开通申请已提交",
        "pending": "待审核",
        "approved_one": "已审核通过 1 项。",
        "activated": "已开通",
        "scheduled": "待发送",
    },
}


@pytest.fixture(params=["en", "zh-hans"])
def language(request):
    return request.param


@pytest.fixture
def screen(page, live_server, language, settings):
    settings.SMS_SIGNUP_ENABLED = True
    settings.CONSOLE_URL = live_server.url + "/"
    page.set_viewport_size({"width": 1024, "height": 768})
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    return page


def submit(page, form):
    page.locator(f"{form} button[type=submit]").last.click()


def test_a_new_sign_up_reaches_its_first_campaign(screen, live_server, factories, rita, language):
    text = TEXT[language]
    create_connection()

    # Sign-up: only an email and a name; the emailed link creates the account.
    screen.goto(live_server.url + reverse("login"))
    screen.get_by_role("link", name=text["create_account"]).click()
    screen.fill("#id_email", "nina@newcomer.example")
    screen.fill("#id_account_name", "Newcomer")
    submit(screen, "form.stacked")
    expect(screen.locator("#signup-sent")).to_be_visible()
    (message,) = mail.outbox
    link = re.search(r"https?://\S+/signup/\S+/", message.body).group(0)
    screen.goto(link)
    screen.fill("#id_username", "nina")
    screen.fill("#id_password1", NEW_PASSWORD)
    screen.fill("#id_password2", NEW_PASSWORD)
    submit(screen, "form.stacked")

    # The activation page: not applied yet; applications wait for it.
    expect(screen.locator("#activation-status")).to_have_attribute("data-status", "not_applied")
    screen.goto(live_server.url + reverse("application_list"))
    expect(screen.locator(f'a[href="{reverse("application_create")}"]')).to_have_count(0)
    screen.goto(live_server.url + reverse("accounts:activation"))
    screen.fill("#id_company_name", "Newcomer Trading Co., Ltd.")
    screen.fill("#id_intended_use", "Delivery notices to our customers, about 5,000 a month.")
    screen.check("#id_accept_terms")
    submit(screen, "#apply-form")
    expect(screen.locator("ul.messages")).to_contain_text(text["applied"])
    expect(screen.locator("#activation-status .status")).to_have_text(text["pending"])
    expect(screen.locator("#answer-due")).to_contain_text("18:00")
    screen.locator(".topbar form.inline button").click()

    # The reviewer approves it on the review desk; the applicant hears of it by email.
    screen.goto(live_server.url + reverse("admin:login") + "?next=" + reverse("admin:index"))
    screen.fill("#id_username", "rita")
    screen.fill("#id_password", PASSWORD)
    screen.locator('#login-form [type="submit"]').click()
    expect(screen.locator("#logout-form")).to_be_attached()
    application = ServiceApplication.objects.get(account__name="Newcomer")
    screen.goto(live_server.url + reverse("admin:accounts_serviceapplication_changelist"))
    screen.locator(f'input[name="_selected_action"][value="{application.pk}"]').check()
    screen.locator('select[name="action"]').select_option("approve_selected")
    screen.locator('button[name="index"]').click()
    expect(screen.locator("ul.messagelist li.success")).to_have_text(text["approved_one"])
    screen.locator("#logout-form button").click()
    assert [m.to for m in mail.outbox[1:]] == [["nina@newcomer.example"]]

    # Activated: the operator creates an application.
    screen.goto(live_server.url + reverse("login"))
    screen.fill("#id_username", "nina")
    screen.fill("#id_password", NEW_PASSWORD)
    submit(screen, "form.stacked")
    expect(screen.locator("#activation-panel")).to_have_count(0)
    screen.goto(live_server.url + reverse("accounts:activation"))
    expect(screen.locator("#activation-status .status")).to_have_text(text["activated"])
    screen.goto(live_server.url + reverse("application_create"))
    screen.fill("#id_name", "Newcomer Shop")
    submit(screen, "form.stacked")
    expect(screen.locator("h1")).to_contain_text("Newcomer Shop")
    app = Application.objects.get(account__name="Newcomer", name="Newcomer Shop")

    # Approved content and an audience, as the review desk and an import would leave them.
    account = Membership.objects.get(user__username="nina").account
    signature = factories.create_signature(app, name="Newcomer")
    template = factories.create_template(app, signature=signature, name="Shipped", content="Your parcel has shipped.")
    customers = ContactList.objects.create(account=account, name="Customers")
    Contact.objects.create(contact_list=customers, phone="+8613800138000", name="Wang")

    # The first campaign, scheduled for tomorrow morning on the account's clock.
    at = timezone.localtime(timezone.now() + timedelta(days=1), timezone.get_default_timezone()).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    screen.goto(
        live_server.url + reverse("campaigns:campaign_create") + f"?application={app.pk}"
        f"&signature={signature.pk}&template={template.pk}"
    )
    screen.fill("#id_name", "First notice")
    expect(screen.locator(".htmx-request")).to_have_count(0)
    screen.select_option("#id_audience", f"list:{customers.pk}")
    expect(screen.locator(".htmx-request")).to_have_count(0)
    screen.check("#id_when_1")
    screen.fill("#id_scheduled_at", at.strftime("%Y-%m-%dT%H:%M"))
    submit(screen, "#campaign-form")
    expect(screen.locator("#confirm-to-send")).to_have_text("1")
    screen.locator("#confirm-launch").click()
    expect(screen.locator("#campaign-status")).to_have_text(text["scheduled"])
    campaign = Campaign.objects.get(account=account)
    assert campaign.status == Campaign.Status.SCHEDULED and campaign.contact_list == customers
