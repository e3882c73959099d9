"""The embedded Redis of `make run` is a unix socket; the engine's clients must accept that URL."""

import pytest

from campaigns.redis_client import get_async_redis, get_redis, normalise_url


def test_kombus_socket_url_becomes_redis_pys():
    assert normalise_url("redis+socket:///srv/var/redis.sock") == "unix:///srv/var/redis.sock?db=0"
    assert normalise_url("redis+socket:///srv/var/redis.sock?virtual_host=3") == "unix:///srv/var/redis.sock?db=3"
    assert normalise_url("redis://127.0.0.1:6379/2") == "redis://127.0.0.1:6379/2"


@pytest.mark.parametrize("url", ["redis+socket:///tmp/no-such-redis.sock", "unix:///tmp/no-such-redis.sock"])
def test_a_unix_socket_client_builds_its_connection(url):
    # Building the connection object is where unsupported options fail; no server is needed.
    connection = get_redis(url).connection_pool.make_connection()
    assert connection.path == "/tmp/no-such-redis.sock"


def test_an_asyncio_unix_socket_client_builds_its_connection():
    connection = get_async_redis("unix:///tmp/no-such-redis.sock").connection_pool.make_connection()
    assert connection.path == "/tmp/no-such-redis.sock"


def test_a_tcp_client_keeps_its_keepalive():
    connection = get_redis("redis://127.0.0.1:6399/0").connection_pool.make_connection()
    assert connection.socket_keepalive is True
