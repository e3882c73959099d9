"""Frequency caps in Redis (campaigns.frequency): rolling windows per number and type and per
number and content, checked and recorded atomically per chunk."""

import pytest

from campaigns.frequency import FrequencyCaps
from tests.sending_helpers import sending_redis  # noqa: F401 (a fixture)

NOW = 1_800_000_000.0


@pytest.fixture
def caps(sending_redis, settings):  # noqa: F811
    return FrequencyCaps(sending_redis, settings.SMS_REDIS_PREFIX, account_id=1)


def messages(count, phone="+8613800138000", message_type="notification", text="Order A shipped", start=0):
    return [(start + i, phone, message_type, f"{text} {i}") for i in range(count)]


def test_a_number_gets_at_most_ten_notifications_a_minute(caps):
    assert caps.admit(messages(12), now=NOW) == [True] * 10 + [False] * 2
    # The window rolls: a minute later there is room again.
    assert caps.admit(messages(1, start=100), now=NOW + 61) == [True]


def test_the_daily_cap_counts_across_minutes(caps):
    for minute in range(5):
        assert caps.admit(messages(10, start=minute * 10), now=NOW + minute * 61) == [True] * 10
    assert caps.admit(messages(1, start=999), now=NOW + 400) == [False]


def test_identical_content_is_capped_at_two_in_59_seconds(caps):
    same = [(i, "+8613800138000", "notification", "Your code is 1234") for i in range(3)]
    assert caps.admit(same, now=NOW) == [True, True, False]


def test_promotions_have_their_own_hourly_cap_and_other_numbers_are_independent(caps):
    assert caps.admit(messages(5, message_type="promotion"), now=NOW) == [True] * 4 + [False]
    assert caps.admit(messages(1, phone="+8613900139000", message_type="promotion"), now=NOW) == [True]


def test_one_call_holds_each_message_type_to_its_own_windows(caps):
    # The windows go to Redis once per type in the call, each message naming its type's set.
    mixed = [*messages(11), *messages(5, message_type="promotion", text="Sale", start=100), *messages(1, start=200)]
    assert caps.admit(mixed, now=NOW) == [True] * 10 + [False] + [True] * 4 + [False] + [False]


def test_would_admit_records_nothing(caps):
    assert caps.would_admit(messages(12), now=NOW) == [True] * 12
    assert caps.admit(messages(10), now=NOW) == [True] * 10


def test_another_account_has_its_own_counts(sending_redis, settings, caps):  # noqa: F811
    caps.admit(messages(10), now=NOW)
    other = FrequencyCaps(sending_redis, settings.SMS_REDIS_PREFIX, account_id=2)
    assert other.admit(messages(1, start=50), now=NOW) == [True]


def test_a_preview_finds_the_numbers_over_a_cap_without_recording_anything(caps, sending_redis):  # noqa: F811
    assert caps.admit(messages(10, phone="+8613800000001"), now=NOW) == [True] * 10
    assert caps.admit([(n, "+8613800000002", "verification", "code 1234") for n in (1, 2)], now=NOW) == [True, True]
    phones = ["+8613800000001", "+8613800000002", "+8613800000003"]
    assert caps.numbers_over_cap(phones, "notification", now=NOW + 1) == {"+8613800000001"}
    # Two verification codes a minute: the second number is at its type cap and at its same-content cap.
    assert caps.numbers_over_cap(phones, "verification", now=NOW + 1) == {"+8613800000002"}
    assert caps.numbers_over_cap(["+8613800000002"], "promotion", "code 1234", now=NOW + 1) == {"+8613800000002"}
    assert caps.numbers_over_cap(["+8613800000002"], "promotion", now=NOW + 1) == set()
    # The windows roll as admit's do, and looking recorded nothing.
    assert caps.numbers_over_cap(phones, "notification", now=NOW + 61) == set()
    assert caps.admit(messages(1, phone="+8613800000003"), now=NOW + 1) == [True]


def test_a_message_recorded_and_handed_back_is_admitted_again_as_itself(caps):
    # Recorded by a claim whose submit was then requeued: the retry must not count its own entry.
    same = [(7, "+8613800138000", "notification", "Your code is 1234")]
    assert caps.admit(same, now=NOW) == [True]
    assert caps.admit([(8, "+8613800138000", "notification", "Your code is 1234")], now=NOW + 1) == [True]
    assert caps.admit(same, now=NOW + 2) == [True]  # message 7 again, not a third message
    assert caps.admit([(9, "+8613800138000", "notification", "Your code is 1234")], now=NOW + 3) == [False]


def test_forget_drops_only_this_accounts_history(sending_redis, settings, caps):  # noqa: F811
    other = FrequencyCaps(sending_redis, settings.SMS_REDIS_PREFIX, account_id=2)
    assert caps.admit(messages(10), now=NOW) == [True] * 10
    assert other.admit(messages(10), now=NOW) == [True] * 10
    caps.forget()
    assert caps.admit(messages(1, start=50), now=NOW) == [True]
    assert other.admit(messages(1, start=50), now=NOW) == [False]


def test_a_number_keeps_only_the_sends_its_longest_window_still_counts(caps, sending_redis):  # noqa: F811
    # Sets under every limit are not counted send by send, but each new record still trims them.
    assert caps.admit(messages(3), now=NOW) == [True] * 3
    assert caps.admit(messages(1, start=10), now=NOW + 86_401) == [True]
    key = caps._keys("+8613800138000", "notification", "Order A shipped 0")[0]
    assert sending_redis.zrange(key, 0, -1) == [b"10"]
