"""The shared token bucket. A fake clock stands in for Redis's TIME, so nothing here sleeps."""

import asyncio

import redis

from campaigns.ratelimit import AsyncTokenBucket, TokenBucket, bucket_key
from campaigns.redis_client import get_async_redis, normalise_url
from tests.sending_helpers import sending_redis  # noqa: F401 (fixture)


class Clock:
    def __init__(self, now=1_800_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_a_full_bucket_grants_one_second_of_the_rate_and_no_more(sending_redis):
    clock = Clock()
    bucket = TokenBucket(sending_redis, bucket_key(1), rate=50, clock=clock)
    assert bucket.take(80) == (50, 0.02)  # one token every 20 ms from here
    assert bucket.take(10) == (0, 0.02)
    clock.sleep(0.1)
    assert bucket.take(10)[0] == 5


def test_the_bucket_never_holds_more_than_its_capacity_after_idling(sending_redis):
    clock = Clock()
    bucket = TokenBucket(sending_redis, bucket_key(2), rate=10, clock=clock)
    bucket.take(10)
    clock.sleep(3600)
    assert bucket.take(1000)[0] == 10


def test_zero_rate_means_no_limit(sending_redis):
    bucket = TokenBucket(sending_redis, bucket_key(3), rate=0)
    assert bucket.take(1_000_000) == (1_000_000, 0.0)
    assert not sending_redis.exists(bucket_key(3))


def test_two_clients_share_one_budget_and_never_exceed_the_rate_over_any_window(sending_redis, redis_url):
    other = redis.Redis.from_url(normalise_url(redis_url))
    clock = Clock()
    rate = 200
    first = TokenBucket(sending_redis, bucket_key(4), rate=rate, clock=clock)
    second = TokenBucket(other, bucket_key(4), rate=rate, clock=clock)
    grants = []  # (time, tokens)
    for step in range(400):  # 4 s of greedy takers, alternating, every 10 ms
        bucket = first if step % 2 else second
        grants.append((clock.now, bucket.take(13)[0]))
        clock.sleep(0.01)
    other.close()
    start = grants[0][0]
    for window in (0.5, 1.0, 2.0):
        for begin_step in range(0, 400, 25):
            begin = start + begin_step * 0.01
            taken = sum(n for t, n in grants if begin <= t < begin + window)
            # Never more than a full bucket plus what refills during the window.
            assert taken <= rate + rate * window + 1
    total = sum(n for _t, n in grants)
    assert rate * 4 - 13 <= total <= rate + rate * 4  # and the budget is used, not wasted


def test_acquire_adds_partial_grants_until_it_has_enough(sending_redis):
    clock = Clock()
    bucket = TokenBucket(sending_redis, bucket_key(5), rate=100, clock=clock)
    bucket.take(100)  # empty it
    started = clock.now
    assert bucket.acquire(20, sleep=clock.sleep) == 20
    assert 0.19 <= clock.now - started <= 0.3  # 20 tokens at 100/s


def test_a_message_bigger_than_the_bucket_still_gets_its_tokens_over_time(sending_redis):
    clock = Clock()
    bucket = TokenBucket(sending_redis, bucket_key(6), rate=2, clock=clock)  # capacity 2, a 3-segment message
    bucket.take(2)
    assert bucket.acquire(3, sleep=clock.sleep) == 3


def test_the_asyncio_bucket_shares_the_key_with_the_blocking_one(sending_redis, redis_url):
    clock = Clock()

    async def take():
        client = get_async_redis(redis_url)
        try:
            return await AsyncTokenBucket(client, bucket_key(7), rate=30, clock=clock).take(100)
        finally:
            await client.aclose()

    assert asyncio.run(take())[0] == 30
    assert TokenBucket(sending_redis, bucket_key(7), rate=30, clock=clock).take(100)[0] == 0


def test_without_a_clock_the_redis_server_time_is_used(sending_redis):
    bucket = TokenBucket(sending_redis, bucket_key(8), rate=5)
    assert bucket.take(9)[0] == 5
    assert bucket.take(9)[0] <= 1


def test_unix_socket_urls_of_celery_and_redis_py_both_work():
    assert normalise_url("redis+socket:///tmp/x/redis.sock") == "unix:///tmp/x/redis.sock?db=0"
    assert normalise_url("redis+socket:///tmp/x/redis.sock?virtual_host=3") == "unix:///tmp/x/redis.sock?db=3"
    assert normalise_url("unix:///tmp/redis.sock") == "unix:///tmp/redis.sock"
    assert normalise_url("redis://127.0.0.1:6379/12") == "redis://127.0.0.1:6379/12"
