from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from campaigns import quiet_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("hour", "minute", "open_"), [(7, 59, False), (8, 0, True), (21, 59, True), (22, 0, False)])
def test_promotions_go_out_from_8_to_22_on_the_accounts_clock(hour, minute, open_):
    assert quiet_hours.is_open(datetime(2026, 12, 1, hour, minute, tzinfo=SHANGHAI), "Asia/Shanghai") is open_


def test_other_types_have_no_window():
    assert quiet_hours.is_open(datetime(2026, 12, 1, 3, 0, tzinfo=SHANGHAI), "Asia/Shanghai", "notification")


def test_the_next_opening_is_8_today_before_dawn_and_8_tomorrow_at_night():
    early = datetime(2026, 12, 1, 6, 30, tzinfo=SHANGHAI)
    late = datetime(2026, 12, 1, 23, 0, tzinfo=SHANGHAI)
    assert quiet_hours.next_opening(early, "Asia/Shanghai") == datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
    assert quiet_hours.next_opening(late, "Asia/Shanghai") == datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)


def test_the_window_follows_the_accounts_zone_not_the_servers():
    # 23:00 in Berlin is 06:00 the next day in Shanghai: closed in Shanghai, closed in Berlin too.
    moment = datetime(2026, 7, 1, 9, 0, tzinfo=ZoneInfo("UTC"))  # 17:00 Shanghai, 11:00 Berlin
    assert quiet_hours.is_open(moment, "Asia/Shanghai") and quiet_hours.is_open(moment, "Europe/Berlin")
    moment = datetime(2026, 7, 1, 15, 0, tzinfo=ZoneInfo("UTC"))  # 23:00 Shanghai, 17:00 Berlin
    assert not quiet_hours.is_open(moment, "Asia/Shanghai") and quiet_hours.is_open(moment, "Europe/Berlin")


def test_sending_that_outlasts_the_evening_goes_on_the_next_morning():
    start = datetime(2026, 12, 1, 21, 30, tzinfo=SHANGHAI)
    # Half an hour tonight, the other half from 08:00.
    assert quiet_hours.finish_time(start, 3600, "Asia/Shanghai") == datetime(2026, 12, 2, 8, 30, tzinfo=SHANGHAI)
    assert quiet_hours.finish_time(start, 3600, "Asia/Shanghai", "notification") == datetime(
        2026, 12, 1, 22, 30, tzinfo=SHANGHAI
    )


def test_an_accounts_narrower_window_opens_later_and_closes_earlier():
    early = datetime(2026, 12, 1, 8, 30, tzinfo=SHANGHAI)
    assert not quiet_hours.is_open(early, "Asia/Shanghai", hours=(9, 20))
    assert quiet_hours.next_opening(early, "Asia/Shanghai", hours=(9, 20)) == datetime(
        2026, 12, 1, 9, 0, tzinfo=SHANGHAI
    )
    late = datetime(2026, 12, 1, 19, 0, tzinfo=SHANGHAI)
    assert quiet_hours.finish_time(late, 7200, "Asia/Shanghai", hours=(9, 20)) == datetime(
        2026, 12, 2, 10, 0, tzinfo=SHANGHAI
    )
