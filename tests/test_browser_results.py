"""A finished campaign's results in headless Chromium at 1024 px, in English and in Chinese: from the
campaign page to its failed records, a record's page, and the failed numbers downloaded."""

import csv
import io

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser_helpers import language, log_in_at_1024  # noqa: F401 (a fixture)
from tests.results_helpers import DELIVERED, EXPIRED, REFUSED, UNDELIVERED, finished_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {
        "log_in": "Log in",
        "results": "Results",
        "records": "Send records",
        "failed": "Failed",
        "refused": "Invalid destination number",
        "back": "Back to the campaign",
    },
    "zh-hans": {
        "log_in": "登录",
        "results": "数据统计",
        "records": "发送详情",
        "failed": "失败",
        "refused": "接收号码无效",
        "back": "返回群发任务",
    },
}


def test_an_operator_follows_a_finished_campaign_to_its_failed_records_and_numbers(
    page, live_server, factories, acme, alice, shop, language
):
    text = TEXT[language]
    campaign = finished_campaign(factories, acme, shop, [DELIVERED, UNDELIVERED, REFUSED, EXPIRED, DELIVERED])
    log_in_at_1024(page, live_server, language)

    # The sidebar's results group, every link still within the screen.
    sidebar = page.locator("nav.sidebar")
    expect(sidebar.locator("h2", has_text=text["results"])).to_be_visible()
    expect(sidebar.get_by_role("link", name=text["records"])).to_be_visible()
    last = sidebar.locator("a").last.bounding_box()
    assert last["y"] + last["height"] <= 768

    page.goto(live_server.url + reverse("campaigns:campaign_detail", args=[campaign.pk]))
    expect(page.locator("#campaign-breakdown")).to_contain_text(text["refused"])
    page.click("#campaign-failed-records")
    rows = page.locator("#records tbody tr")
    expect(rows).to_have_count(3)
    for index in range(3):
        expect(rows.nth(index).locator(".status")).to_have_text(text["failed"])
    # The page fits the 1024 px screen: no horizontal scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024

    rows.filter(has_text="+8613800000002").get_by_role("link").click()
    expect(page.locator("#record-reason")).to_have_text(text["refused"])
    expect(page.locator("#record-error-code")).to_have_text("11")
    expect(page.locator("#record-text")).to_contain_text("A100")

    page.goto(live_server.url + reverse("campaigns:campaign_detail", args=[campaign.pk]))
    with page.expect_download() as download_info:
        page.click("#failed-csv")
    download = download_info.value
    with open(download.path(), encoding="utf-8-sig") as handle:
        numbers = list(csv.reader(io.StringIO(handle.read())))
    assert numbers == [["phone"], ["+8613800000001"], ["+8613800000002"], ["+8613800000003"]]
    assert download.suggested_filename.endswith(".csv")
