"""Checks that a management command can reach the broker, a worker and Redis before it starts work
that needs them: a campaign launched into a broker no worker reads would stay "running" for ever."""

import time

from django.conf import settings
from django.core.management.base import CommandError
from kombu.utils.url import maybe_sanitize_url

CONNECT_TIMEOUT = 3.0
WORKER_WAIT = 15.0

HINT = (
    "Start `make run` in this checkout (commands find its embedded Redis in {var}), "
    "or set CELERY_BROKER_URL and REDIS_URL to the Redis the workers and the gateway use."
)


def broker_problem():
    """None when Celery's broker answers, else what went wrong (one line)."""
    from smsconsole.celery import app

    options = {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": CONNECT_TIMEOUT}
    # The connection .delay() publishes on (Celery prefers the CELERY_BROKER_URL variable to settings).
    with app.connection_for_write(connect_timeout=CONNECT_TIMEOUT, transport_options=options) as connection:
        try:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=CONNECT_TIMEOUT)
        except Exception as error:  # kombu wraps each transport's errors differently
            return f"cannot reach the Celery broker at {maybe_sanitize_url(app.conf.broker_url)}: {error}"
    return None


def worker_problem(wait=None):
    """None when a Celery worker answers a ping through the broker within `wait` seconds (one
    starting beside the command takes a few): a reachable Redis that no worker reads (the machine's
    own on 6379 while `make run` uses its embedded one) looks fine otherwise."""
    from smsconsole.celery import app

    wait = WORKER_WAIT if wait is None else wait
    deadline = time.monotonic() + wait
    while True:
        if app.control.ping(timeout=1.0, limit=1):
            return None
        if time.monotonic() >= deadline:
            return f"no Celery worker answered on the broker {maybe_sanitize_url(app.conf.broker_url)} in {wait:.0f} s"


def redis_problem():
    """None when the application's Redis (REDIS_URL) answers, else what went wrong."""
    import redis

    from campaigns.redis_client import normalise_url

    url = normalise_url(settings.REDIS_URL)
    try:
        with redis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
        ) as client:
            client.ping()
    except (redis.RedisError, OSError) as error:
        return f"cannot reach Redis at {maybe_sanitize_url(settings.REDIS_URL)}: {error}"
    return None


def require_services(broker=True, redis=True):
    """Raises CommandError naming what cannot be reached; eager Celery (unit tests) needs no broker."""
    from smsconsole.celery import app

    problems = []
    if broker and not app.conf.task_always_eager:
        problems.append(broker_problem() or worker_problem())
    if redis:
        problems.append(redis_problem())
    problems = [problem.rstrip(".") for problem in problems if problem]
    if problems:
        raise CommandError("; ".join(problems) + ". " + HINT.format(var=settings.VAR_DIR))
