import os
import socket
from urllib.parse import urlparse, urlunparse

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM would refuse to run there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _reachable(url, default_port):
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name, url, default_port):
    """Skips the calling test when a service is down, or fails it when REQUIRE_SERVICES=1."""
    if _reachable(url, default_port):
        return
    message = f"{name} is not reachable at {url}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture
def postgres_url():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        if REQUIRE_SERVICES:
            pytest.fail("DATABASE_URL does not point at PostgreSQL and REQUIRE_SERVICES=1")
        pytest.skip("DATABASE_URL does not point at PostgreSQL")
    require_service("PostgreSQL", url, 5432)
    return url


def xdist_worker_number():
    """0, 1, ... for pytest-xdist's workers gw0, gw1, ...; 0 for a run without xdist."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


def worker_redis_url(url):
    """`url` with the DB index of this xdist worker: TEST_REDIS_DB (else the URL's own index) plus the
    worker's number, so parallel workers never share a database; a run with -n N uses N indexes."""
    parsed = urlparse(url)
    first = os.environ.get("TEST_REDIS_DB") or parsed.path.lstrip("/") or "0"
    return urlunparse(parsed._replace(path=f"/{int(first) + xdist_worker_number()}"))


@pytest.fixture(scope="session")
def embedded_redis_url(tmp_path_factory):
    """A redis-server of this worker's own on a unix socket (the embedded Redis of `make run`), for
    the embedded default, where no Redis is configured. Spelt for Celery (redis+socket://), as `make run`
    hands it to its children; campaigns.redis_client.normalise_url gives redis-py's spelling."""
    from smsconsole.embedded_redis import EmbeddedRedis

    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.celery_url


@pytest.fixture
def redis_url(request, monkeypatch):
    """A Redis URL for the suite: TEST_REDIS_URL, else CELERY_BROKER_URL (keep its DB index apart from other
    users), at this worker's DB index; without either, an embedded Redis, unless REQUIRE_SERVICES=1."""
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("CELERY_BROKER_URL", "")
    if not url:
        if REQUIRE_SERVICES:
            pytest.fail("CELERY_BROKER_URL is not set and REQUIRE_SERVICES=1")
        return request.getfixturevalue("embedded_redis_url")
    if not url.startswith("redis://"):
        if REQUIRE_SERVICES:
            pytest.fail("CELERY_BROKER_URL does not point at Redis and REQUIRE_SERVICES=1")
        pytest.skip("CELERY_BROKER_URL does not point at Redis")
    require_service("Redis", url, 6379)
    url = worker_redis_url(url)
    # Celery reads CELERY_BROKER_URL before its own configuration: tasks this process queues must reach
    # the worker's DB index, where the Celery workers a test starts listen.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    return url


@pytest.fixture(autouse=True)
def _eager_celery(settings, tmp_path):
    """Unit tests run tasks inline; integration tests start a real worker instead."""
    from smsconsole.celery import app

    # A full PBKDF2 hash per test user cost minutes across the suite; tests need no strong hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The login throttle needs the request, which the test client's login() does not pass; its own
    # tests (test_login_throttle.py) switch it on and log in through the login page.
    settings.AXES_ENABLED = False
    app.conf.task_always_eager = True
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _fresh_api_route_cache():
    """The send API's per-process cache (api.route_cache) would carry one test's rows into the next
    (whose database was rolled back): every test starts without it."""
    from api import route_cache

    route_cache.clear()
    yield
    route_cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """LocaleMiddleware leaves the language of a test's last request active in the thread, so a
    Chinese request made every later test in the process render Chinese outside requests."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture
def factories(db):
    # Imported lazily: the module imports models, which need Django set up first.
    from tests import factories

    return factories


@pytest.fixture
def acme(factories):
    return factories.create_account("Acme")


@pytest.fixture
def other_co(factories):
    return factories.create_account("Other Co")


@pytest.fixture
def alice(factories, acme):
    """Operator of Acme."""
    return factories.create_user("alice", account=acme)


@pytest.fixture
def bob(factories, acme):
    """Alice's read-only colleague."""
    return factories.create_user("bob", account=acme, role="read_only")


@pytest.fixture
def rita(factories):
    """A reviewer: staff in the admin, member of no account."""
    return factories.create_reviewer("rita")


@pytest.fixture
def charlie(factories, other_co):
    """Operator of another account; must never see Acme's data."""
    return factories.create_user("charlie", account=other_co)


@pytest.fixture
def newcomer(factories):
    """An account that signed up and is not activated for the SMS service yet."""
    return factories.create_account("Newcomer", activated=False)


@pytest.fixture
def nina(factories, newcomer):
    """Operator of the new account."""
    return factories.create_user("nina", account=newcomer, email="nina@newcomer.example")


@pytest.fixture
def shop(factories, acme):
    return factories.create_application(acme, "Shop")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches Debian's Chromium: Playwright's own browser download is not available."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(message + " and REQUIRE_SERVICES=1")
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }


# Their tests run one after another on one xdist worker: each sends at full speed through its own Celery
# worker, gateway and SMSC simulator; two at once on two cores would only slow each other, and the pause
# test's two-second bound must not compete with a campaign of 100,000. (pytest-xdist's xdist_group marker
# has no effect on pytest 9: it renames node ids through an attribute pytest no longer reads.)
ONE_WORKER_MODULES = {"tests/test_sending_faults.py", "tests/test_sending_integration.py"}


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's load balancing, test by test, except that ONE_WORKER_MODULES form one unit of work,
    which is handed out first (units are handed out largest first)."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return "one-worker" if nodeid.split("::", 1)[0] in ONE_WORKER_MODULES else nodeid

    return Scheduling(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    # pytest-playwright's session-wide sync API leaves an event loop running in the main thread,
    # and asyncio.run() refuses to start after it: browser tests go last. Tests that take minutes go
    # first, so that under xdist the other workers share the rest instead of waiting for them at the end.
    items.sort(key=lambda item: (item.get_closest_marker("browser") is not None, not item.get_closest_marker("slow")))
