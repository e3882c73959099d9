"""A campaign's page links its own figures on the statistics page (reports.statistics.campaign_filters):
its application and template over the days it sent, cut to the page's limits (31 days, the last 180)."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.urls import reverse

from campaigns.models import Campaign
from reports.statistics import campaign_filters
from tests.results_helpers import DELIVERED, EXPIRED, REFUSED, UNDELIVERED, finished_campaign

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# 12:00 in Shanghai on 30 November 2026.
NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def campaign(factories, acme, shop):
    return finished_campaign(factories, acme, shop, [DELIVERED, UNDELIVERED, REFUSED, EXPIRED, DELIVERED])


def test_the_campaign_page_links_statistics_that_count_its_messages(alice_client, campaign):
    html = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content.decode()
    assert 'id="campaign-statistics"' in html
    url = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).context["statistics_url"]
    query = parse_qs(urlparse(url).query)
    assert query == {
        "application": [str(campaign.application_id)],
        "template": [str(campaign.template_id)],
        "start": ["2026-11-30"],
        "end": ["2026-11-30"],
    }
    page = alice_client.get(url)
    assert page.status_code == 200 and not page.context["form"].errors
    sums = page.context["sums"]
    assert (sums["total"], sums["delivered"], sums["failed"]) == (5, 2, 3)


def test_a_campaign_that_ran_over_several_days_is_shown_from_its_first_to_its_last(campaign):
    # Started at 23:00 on 26 November in Shanghai (15:00 UTC): a day of the account's time zone.
    Campaign.objects.filter(pk=campaign.pk).update(
        started_at=NOW - timedelta(days=3, hours=13), finished_at=NOW - timedelta(days=1)
    )
    campaign.refresh_from_db()
    filters = campaign_filters(campaign, SHANGHAI)
    assert (filters["start"], filters["end"]) == ("2026-11-26", "2026-11-29")


def test_a_campaign_still_running_is_shown_up_to_today(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(finished_at=None, started_at=NOW - timedelta(days=2))
    campaign.refresh_from_db()
    assert campaign_filters(campaign, SHANGHAI)["end"] == "2026-11-30"


def test_a_range_longer_than_31_days_is_cut_to_its_first_31(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(
        started_at=NOW - timedelta(days=60), finished_at=NOW - timedelta(days=2)
    )
    campaign.refresh_from_db()
    filters = campaign_filters(campaign, SHANGHAI)
    start, end = date.fromisoformat(filters["start"]), date.fromisoformat(filters["end"])
    assert (end - start).days + 1 == 31


def test_a_campaign_that_began_before_the_oldest_day_starts_at_it(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(
        started_at=NOW - timedelta(days=190), finished_at=NOW - timedelta(days=170)
    )
    campaign.refresh_from_db()
    assert campaign_filters(campaign, SHANGHAI)["start"] == "2026-06-04"  # 179 days before 30 November


def test_a_campaign_that_ended_before_the_oldest_day_has_no_link(alice_client, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(
        started_at=NOW - timedelta(days=200), finished_at=NOW - timedelta(days=190)
    )
    response = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk]))
    assert "statistics_url" not in response.context and 'id="campaign-statistics"' not in response.content.decode()
