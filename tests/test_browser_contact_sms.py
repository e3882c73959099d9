"""A notification contact's "also by SMS" toggle in a real browser, in both languages: without a
phone the form says what is missing and keeps what was typed; with one the list shows it on."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from templates_app.models import NotificationContact
from tests.test_browser_review_flow import TEXT as LOGIN_TEXT
from tests.test_browser_review_flow import console_login, switch_language

TEXT = {
    "en": {"sms": "Also by SMS", "save": "Save", "phone_needed": "Enter the phone number the SMS notices go to.",
           "column": "By SMS", "on": "On"},
    "zh-hans": {"sms": "同时短信通知", "save": "保存", "phone_needed": "请填写接收短信通知的手机号码。",
                "column": "短信通知", "on": "开启"},
}  # fmt: skip


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_contact_takes_its_notices_by_sms(page, live_server, acme, alice, language):
    text = TEXT[language]
    page.goto(live_server.url + reverse("login"))
    switch_language(page, language)
    console_login(page, live_server, LOGIN_TEXT[language], "alice")

    page.goto(live_server.url + reverse("templates_app:contact_create"))
    page.locator("#id_name").fill("Ops")
    page.locator("#id_email").fill("ops@acme.example")
    page.get_by_label(text["sms"]).check()
    page.get_by_role("button", name=text["save"], exact=True).click()
    expect(page.locator("main")).to_contain_text(text["phone_needed"])
    expect(page.locator("#id_name")).to_have_value("Ops")
    assert not NotificationContact.objects.exists()

    page.locator("#id_phone").fill("139 0000 0001")
    page.get_by_role("button", name=text["save"], exact=True).click()
    expect(page.locator("table.list thead")).to_contain_text(text["column"])
    row = page.locator("table.list tbody tr").first
    expect(row.locator("td").nth(7)).to_have_text(text["on"])
    contact = NotificationContact.objects.get()
    assert (contact.phone, contact.notify_by_sms) == ("+8613900000001", True)
