"""Checks that a management command can reach the broker and Redis before it starts work that
needs them: a campaign launched into a broker no worker reads would stay "running" for ever."""

from django.conf import settings
from django.core.management.base import CommandError

CONNECT_TIMEOUT = 3.0

HINT = (
    "Start `make run` in this checkout (commands find its embedded Redis in {var}), "
    "or set CELERY_BROKER_URL and REDIS_URL to the Redis the workers and the gateway use."
)


def broker_problem():
    """None when Celery's broker answers, else what went wrong (one line)."""
    import kombu

    url = settings.CELERY_BROKER_URL
    options = {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": CONNECT_TIMEOUT}
    try:
        with kombu.Connection(url, connect_timeout=CONNECT_TIMEOUT, transport_options=options) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=CONNECT_TIMEOUT)
    except Exception as error:  # kombu wraps each transport's errors differently
        return f"cannot reach the Celery broker at {url}: {error}"
    return None


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
        return f"cannot reach Redis at {settings.REDIS_URL}: {error}"
    return None


def require_services(broker=True, redis=True):
    """Raises CommandError naming what cannot be reached; eager Celery (unit tests) needs no broker."""
    from smsconsole.celery import app

    problems = []
    if broker and not app.conf.task_always_eager:
        problems.append(broker_problem())
    if redis:
        problems.append(redis_problem())
    problems = [problem for problem in problems if problem]
    if problems:
        raise CommandError("; ".join(problems) + ". " + HINT.format(var=settings.VAR_DIR))
