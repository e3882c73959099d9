"""The review-hours rule of service activation: workdays 09:00-18:00 GMT+8 the same day, later the next workday."""

from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.review_hours import REVIEW_ZONE, answer_due

# 2025-06-02 is a Monday.
MONDAY = date(2025, 6, 2)


def at(day, hour, minute=0, second=0, microsecond=0):
    return datetime(day.year, day.month, day.day, hour, minute, second, microsecond, tzinfo=REVIEW_ZONE)


def day_after(day, n):
    return day + timedelta(days=n)


def test_an_application_in_review_hours_is_answered_the_same_day():
    assert answer_due(at(MONDAY, 10, 30)) == at(MONDAY, 18)


def test_nine_oclock_exactly_is_in_review_hours():
    assert answer_due(at(MONDAY, 9)) == at(MONDAY, 18)


def test_one_before_review_hours_waits_for_them_the_same_day():
    assert answer_due(at(MONDAY, 8, 59, 59)) == at(MONDAY, 18)
    assert answer_due(at(MONDAY, 0, 0)) == at(MONDAY, 18)


def test_the_last_moment_before_six_is_still_answered_the_same_day():
    assert answer_due(at(MONDAY, 17, 59, 59, 999999)) == at(MONDAY, 18)


def test_six_oclock_exactly_goes_to_the_next_workday():
    assert answer_due(at(MONDAY, 18)) == at(day_after(MONDAY, 1), 18)


def test_an_evening_application_is_answered_the_next_workday():
    assert answer_due(at(MONDAY, 23, 59)) == at(day_after(MONDAY, 1), 18)


def test_friday_evening_waits_for_monday():
    friday = day_after(MONDAY, 4)
    assert answer_due(at(friday, 17, 59)) == at(friday, 18)
    assert answer_due(at(friday, 18)) == at(day_after(MONDAY, 7), 18)


@pytest.mark.parametrize("hour", [0, 9, 12, 17, 18, 23])
def test_weekend_applications_are_answered_on_monday(hour):
    saturday, sunday = day_after(MONDAY, 5), day_after(MONDAY, 6)
    next_monday = day_after(MONDAY, 7)
    assert answer_due(at(saturday, hour)) == at(next_monday, 18)
    assert answer_due(at(sunday, hour)) == at(next_monday, 18)


def test_holidays_are_no_workdays():
    # National Day week 2025: 1 to 7 October (a Wednesday to a Tuesday).
    holidays = {date(2025, 10, day) for day in range(1, 8)}
    assert answer_due(at(date(2025, 9, 30), 18, 30), holidays) == at(date(2025, 10, 8), 18)
    assert answer_due(at(date(2025, 10, 3), 11), holidays) == at(date(2025, 10, 8), 18)
    assert answer_due(at(date(2025, 9, 30), 17), holidays) == at(date(2025, 9, 30), 18)


def test_the_hours_are_read_in_gmt_plus_8_whatever_the_clock_of_the_time_given():
    # 09:59:59 UTC is 17:59:59 in GMT+8; 10:00 UTC is 18:00.
    assert answer_due(datetime(2025, 6, 2, 9, 59, 59, tzinfo=UTC)) == at(MONDAY, 18)
    assert answer_due(datetime(2025, 6, 2, 10, 0, tzinfo=UTC)) == at(day_after(MONDAY, 1), 18)
    # Sunday 20:00 UTC is already Monday 04:00 in GMT+8: answered that Monday.
    assert answer_due(datetime(2025, 6, 1, 20, 0, tzinfo=UTC)) == at(MONDAY, 18)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError):
        answer_due(datetime(2025, 6, 2, 10, 0))
