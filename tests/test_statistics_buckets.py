"""The statistics page's buckets on clocks that move: a summer-time change makes a 23- or 25-hour day,
and a half-hour offset puts each UTC hour in the local hour its start falls in."""

import zoneinfo
from datetime import UTC, date, datetime

import pytest

from reports.statistics import Query, statistics
from tests.stats_helpers import create_hourly_stat

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def hours(query):
    return [key.strftime("%H:%M") for key, _start, _end in query.buckets()]


def test_the_day_summer_time_starts_has_23_hourly_buckets():
    labels = hours(Query(tz=NEW_YORK, start=date(2026, 3, 8), end=date(2026, 3, 8)))
    assert len(labels) == 23 and "02:00" not in labels


def test_the_day_summer_time_ends_shows_the_repeated_hour_as_one_bucket_of_two_hours():
    buckets = Query(tz=NEW_YORK, start=date(2026, 11, 1), end=date(2026, 11, 1)).buckets()
    assert len(buckets) == 24
    key, start, end = buckets[1]
    assert key.strftime("%H:%M") == "01:00"
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 2 * 3600


@pytest.fixture
def template(factories, acme, shop):
    return factories.create_template(shop, name="order_shipped")


def test_both_utc_hours_of_the_repeated_hour_are_summed_in_it(acme, template):
    # 05:00 and 06:00 UTC on 1 November 2026 are both 01:00 in New York.
    create_hourly_stat(template, datetime(2026, 11, 1, 5, tzinfo=UTC), total=2, delivered=2)
    create_hourly_stat(template, datetime(2026, 11, 1, 6, tzinfo=UTC), total=3, delivered=3)
    buckets = statistics(acme, Query(tz=NEW_YORK, start=date(2026, 11, 1), end=date(2026, 11, 1)))
    assert [b.total for b in buckets][:3] == [0, 5, 0]
    assert sum(b.total for b in buckets) == 5


def test_a_half_hour_offset_puts_a_utc_hour_in_the_local_hour_it_starts_in(acme, template):
    kolkata = zoneinfo.ZoneInfo("Asia/Kolkata")
    create_hourly_stat(template, datetime(2026, 11, 30, 4, tzinfo=UTC), total=1, delivered=1)  # 09:30 there
    buckets = statistics(acme, Query(tz=kolkata, start=date(2026, 11, 30), end=date(2026, 11, 30)))
    assert [b.key.strftime("%H:%M") for b in buckets if b.total] == ["09:00"]
