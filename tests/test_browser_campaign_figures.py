"""One operator's path through a finished campaign's results in headless Chromium at 1024 px, in
English and in Chinese, as issue 10 asks for it in one go: the campaign page opens its statistics,
the chart switches from bar to line and hides a series, its failed figure drills down to the failed
send records, and the campaign's failed numbers download."""

import csv
import io

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser_helpers import language, log_in_at_1024  # noqa: F401 (a fixture)
from tests.results_helpers import DELIVERED, EXPIRED, REFUSED, UNDELIVERED, finished_campaign
from tests.test_browser_statistics import chart_state

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {"log_in": "Log in", "statistics": "Statistics", "line": "Line chart", "failed": "Failed"},
    "zh-hans": {"log_in": "登录", "statistics": "业务统计", "line": "折线图", "failed": "失败"},
}


def test_a_finished_campaigns_chart_drills_down_to_its_failed_records_and_numbers(
    page, live_server, factories, acme, alice, shop, language
):
    text = TEXT[language]
    campaign = finished_campaign(factories, acme, shop, [DELIVERED, UNDELIVERED, REFUSED, EXPIRED, DELIVERED])
    # Another campaign's failures of the same day stay out of this one's figures.
    finished_campaign(factories, acme, shop, [UNDELIVERED, UNDELIVERED], name="Other")
    log_in_at_1024(page, live_server, language)

    campaign_url = live_server.url + reverse("campaigns:campaign_detail", args=[campaign.pk])
    page.goto(campaign_url)
    page.click("#campaign-statistics")
    expect(page.locator("h1")).to_have_text(text["statistics"])
    expect(page.locator("#total-total")).to_have_text("5")
    canvas = page.locator("#statistics-chart")
    expect(canvas).to_have_attribute("data-chart-type", "bar")

    page.get_by_role("button", name=text["line"]).click()
    expect(canvas).to_have_attribute("data-chart-type", "line")
    page.get_by_role("checkbox", name=text["failed"]).uncheck()
    expect(canvas).to_have_attribute("data-visible-series", "total delivered sending")
    assert chart_state(page) == {"type": "line", "visible": ["total", "delivered", "sending"]}

    page.locator("#statistics-table td.failed a").first.click()
    rows = page.locator("#records tbody tr")
    expect(rows).to_have_count(3)
    for index in range(3):
        expect(rows.nth(index).locator(".status")).to_have_text(text["failed"])
    for number in ("+8613800000001", "+8613800000002", "+8613800000003"):
        expect(rows.filter(has_text=number)).to_have_count(1)

    page.goto(campaign_url)
    with page.expect_download() as download_info:
        page.click("#failed-csv")
    with open(download_info.value.path(), encoding="utf-8-sig") as handle:
        numbers = list(csv.reader(io.StringIO(handle.read())))
    assert numbers == [["phone"], ["+8613800000001"], ["+8613800000002"], ["+8613800000003"]]
