"""The statistics page in headless Chromium at 1024 px, in English and in Chinese: the chart switches
between bar and line, a series can be hidden, and a figure of the table opens its send records."""

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser_helpers import language, log_in_at_1024  # noqa: F401 (a fixture)
from tests.stats_helpers import create_sent_hour

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {"log_in": "Log in", "statistics": "Statistics", "line": "Line chart", "failed": "Failed"},
    "zh-hans": {"log_in": "登录", "statistics": "业务统计", "line": "折线图", "failed": "失败"},
}


def chart_state(page):
    """The chart's type and visible series as Chart.js itself reports them."""
    return page.evaluate(
        """() => {
            const chart = Chart.getChart("statistics-chart");
            return {
                type: chart.config.type,
                visible: chart.data.datasets.filter((set, i) => chart.isDatasetVisible(i)).map((set) => set.key),
            };
        }"""
    )


def test_an_operator_switches_the_chart_hides_a_series_and_opens_the_failed_records(
    page, live_server, factories, acme, alice, shop, language
):
    signature = factories.create_signature(shop, name="AcmeShop")
    template = factories.create_template(shop, signature=signature, name="order_shipped")
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    create_sent_hour(template, hour, delivered=40, failed=3, sending=2)
    text = TEXT[language]

    log_in_at_1024(page, live_server, language)
    page.locator("nav.mainnav").get_by_role("link", name=text["statistics"], exact=True).click()

    expect(page.locator("h1")).to_have_text(text["statistics"])
    canvas = page.locator("#statistics-chart")
    expect(canvas).to_have_attribute("data-chart-type", "bar")
    assert chart_state(page) == {"type": "bar", "visible": ["total", "delivered", "failed", "sending"]}
    expect(page.locator("#total-total")).to_have_text("45")
    # The chart and its totals fit the 1024 px screen beside the sidebar.
    totals = page.locator("#statistics-totals").bounding_box()
    assert totals["x"] + totals["width"] <= 1024

    page.get_by_role("button", name=text["line"]).click()
    expect(canvas).to_have_attribute("data-chart-type", "line")
    assert chart_state(page)["type"] == "line"
    expect(page.get_by_role("button", name=text["line"])).to_have_attribute("aria-pressed", "true")

    page.get_by_role("checkbox", name=text["failed"]).uncheck()
    expect(canvas).to_have_attribute("data-visible-series", "total delivered sending")
    assert chart_state(page) == {"type": "line", "visible": ["total", "delivered", "sending"]}

    page.locator("#statistics-table td.failed a").click()
    page.wait_for_url(f"**{reverse('reports:records')}?*")
    query = parse_qs(urlparse(page.url).query)
    assert query["status"] == ["failed"]
    local_day = timezone.localtime(hour).date()
    assert query["start"] == query["end"] == [local_day.isoformat()]
