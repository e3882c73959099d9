"""The preview before launch in headless Chromium at 1024 px, in English and in Chinese: an
operator sets a daily limit on the sending settings page, and the confirmation of a campaign to
an imported file counts what planning will do — the file's refused rows, an opt-out added after
the import, a name that makes its message two segments, the cost, the balance after sending,
the quota left and the sending time."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from campaigns import importer, money
from campaigns.models import AccountLimits, OptOut
from tests.campaign_helpers import create_campaign, create_connection
from tests.factories import PASSWORD
from tests.import_helpers import create_import

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTENT = "尊敬的${1}，您的订单已发货，预计三天内送达，如有疑问请联系客服，感谢您的支持与信任，祝您生活愉快。"
# Four numbers, one of them with a name that takes the message past 70 characters, an invalid
# number and a repeated row.
FILE = (
    "phone,1\n13800138000,王小明\n13800138001,Zoë Dvořák-Šťastná\n13800138002,李四\n13800138003,赵六\n"
    "12345,钱七\n13800138000,王小明\n"
).encode()

TEXT = {
    "en": {
        "log_in": "Log in",
        "settings": "Sending settings",
        "save": "Save",
        "saved": "The sending settings are saved.",
        "one": "1 segment: 2",
        "two": "2 segments: 1",
        "waits": "1 message waits for the quota of the next day or month.",
        "eta": "0:00:04 at 1 segments a second",
        "send_now": "Send now",
    },
    "zh-hans": {
        "log_in": "登录",
        "settings": "发送设置",
        "save": "保存",
        "saved": "发送设置已保存。",
        "one": "1 条计费：2",
        "two": "2 条计费：1",
        "waits": "1 条短信将等待次日或下月的发送量。",
        "eta": "按每秒 1 条计费条数，约 0:00:04",
        "send_now": "立即发送",
    },
}


@pytest.fixture(params=["en", "zh-hans"])
def language(request):
    return request.param


@pytest.fixture
def screen(page, live_server, language):
    page.set_viewport_size({"width": 1024, "height": 768})
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    return page


def test_the_confirmation_previews_what_planning_will_send_within_the_limit_set_on_the_settings_page(
    screen, live_server, factories, acme, alice, shop, language
):
    text = TEXT[language]
    template = factories.create_template(shop, content=CONTENT, variables=[("TEXT", 20)])
    imp = create_import(acme, shop, template, name="orders.csv", data=FILE)
    importer.run_import(imp.pk)
    OptOut.objects.create(account=acme, phone="+8613800138003")  # after the import
    money.top_up(acme, "10")
    campaign = create_campaign(acme, template, create_connection(tps=1), recipient_import=imp)

    screen.goto(live_server.url + reverse("login"))
    screen.fill("#id_username", "alice")
    screen.fill("#id_password", PASSWORD)
    screen.get_by_role("button", name=text["log_in"], exact=True).click()
    screen.locator("nav.mainnav").get_by_role("link", name=text["settings"], exact=True).click()
    expect(screen.locator("#id_notification_0_limit")).to_have_value("10")
    screen.fill("#id_daily_limit", "2")
    screen.get_by_role("button", name=text["save"], exact=True).click()
    expect(screen.locator(".messages")).to_contain_text(text["saved"])
    assert AccountLimits.objects.get(account=acme).daily_limit == 2

    screen.goto(live_server.url + reverse("campaigns:campaign_confirm", args=[campaign.pk]))
    expect(screen.locator("#confirm-recipients")).to_have_text("4")
    expect(screen.locator("#confirm-invalid")).to_contain_text("1")
    expect(screen.locator("#confirm-duplicates")).to_have_text("1")
    expect(screen.locator("#confirm-opted-out")).to_have_text("1")
    expect(screen.locator("#confirm-to-send")).to_have_text("3")
    expect(screen.locator("#confirm-segments")).to_have_text("4")
    expect(screen.locator("#confirm-distribution [data-segments='1']")).to_have_text(text["one"])
    expect(screen.locator("#confirm-distribution [data-segments='2']")).to_have_text(text["two"])
    expect(screen.locator("#confirm-encodings [data-encoding='UCS-2']")).to_have_text("UCS-2: 3")
    expect(screen.locator("#confirm-cost")).to_have_text("0.26 CNY")
    expect(screen.locator("#confirm-balance-after")).to_contain_text("9.74 CNY")
    expect(screen.locator("#confirm-quota")).to_contain_text(text["waits"])
    expect(screen.locator("#confirm-eta")).to_contain_text(text["eta"])
    # The figures fit the 1024 px screen beside the sidebar.
    box = screen.locator("#confirm-figures").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1024
    expect(screen.locator("#confirm-launch")).to_have_text(text["send_now"])
