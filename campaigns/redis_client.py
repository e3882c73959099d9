"""The one place that turns settings.REDIS_URL into a redis-py client (sync or asyncio).

`make run` hands its children the embedded Redis as `unix:///path` (redis-py's spelling) and
Celery's broker as `redis+socket:///path` (kombu's); both are accepted here, so either variable
can be copied into REDIS_URL.
"""

import os
import threading
from urllib.parse import parse_qs, urlparse

import redis
import redis.asyncio
from django.conf import settings

_lock = threading.Lock()
_clients = {}


def normalise_url(url):
    """The URL in a form redis-py's from_url understands."""
    if url.startswith("redis+socket://"):
        parsed = urlparse(url)
        query = parse_qs(parsed.query)
        db = (query.get("virtual_host") or query.get("db") or ["0"])[0].lstrip("/") or "0"
        return f"unix://{parsed.path}?db={db}"
    return url


def client_options(url):
    # Health checks let a long-lived process notice a Redis restart on the next command.
    options = {"health_check_interval": 30}
    if not url.startswith("unix://"):
        # TCP only: redis-py's unix-socket connection refuses the keepalive option.
        options["socket_keepalive"] = True
    return options


def key(*parts):
    """A key under the product's prefix (SMS_REDIS_PREFIX lets test runs share one Redis)."""
    prefix = settings.SMS_REDIS_PREFIX
    return ":".join([prefix, *map(str, parts)])


def get_redis(url=None):
    """A shared client for this process (its pool is per process; a fork gets a new one)."""
    url = normalise_url(url or settings.REDIS_URL)
    key = (os.getpid(), url)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis.from_url(url, **client_options(url))
                _clients[key] = client
    return client


def get_async_redis(url=None, **kwargs):
    """A new asyncio client; the caller owns it (and closes it with `await client.aclose()`)."""
    url = normalise_url(url or settings.REDIS_URL)
    return redis.asyncio.Redis.from_url(url, **(client_options(url) | kwargs))
