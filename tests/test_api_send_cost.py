"""What one send request costs and what keeps it cheap (docs/benchmarks.md, bench_api): its query
count pinned, the per-process route cache (api.route_cache) never serving rows a change has made
wrong, and the web process's short middleware stack on /sms/ (smsconsole.handlers)."""

from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import RequestFactory

from api import route_cache
from api.sending import _route_key
from campaigns.models import Batch, Campaign, Message
from campaigns.redis_client import get_redis
from smsconsole.models import Application
from tests.sending_helpers import sending_redis  # noqa: F401 (fixture)
from tests.test_api_send import SEND, route, send, signed  # noqa: F401 (fixture)


def numbers(count, first):
    return ",".join(f"+86139{n:08d}" for n in range(first, first + count))


def test_a_one_number_and_a_500_number_send_each_take_one_statement(client, route, django_assert_num_queries):
    # The first requests of a process read the application, the signatures, the template and its
    # variables, the connection and the hidden campaign; afterwards they come from the route cache.
    send(client, route, to=numbers(1, 0))
    send(client, route, to=numbers(1, 1))
    # On PostgreSQL one statement: the messages, the counters and the batch (lifecycle.accept_api),
    # not wrapped in a transaction. SQLite's ORM path takes five in a transaction (the test's
    # savepoint pair), more for 500 rows (bulk_create's slices).
    one_number, five_hundred = (1, 1) if connection.vendor == "postgresql" else (7, 15)
    with django_assert_num_queries(one_number):
        one = send(client, route, to=numbers(1, 2))
    with django_assert_num_queries(five_hundred):
        many = send(client, route, to=numbers(500, 1000))
    assert [entry["status"] for entry in one.json()["result"]] == ["000000"]
    assert [entry["status"] for entry in many.json()["result"]] == ["000000"] * 500
    campaign = Campaign.objects.with_counters().get()
    assert (campaign.total, campaign.queued, campaign.last_batch_number) == (503, 503, 4)
    assert [(b.number, b.last_id - b.first_id + 1) for b in Batch.objects.order_by("number")] == [
        (1, 1),
        (2, 1),
        (3, 1),
        (4, 500),
    ]
    assert Message.objects.filter(campaign=campaign).count() == 503


def test_a_refusal_on_cached_rows_is_checked_on_fresh_ones(client, route):
    application = route["app"]
    Application.objects.filter(pk=application.pk).update(ip_allowlist="10.1.2.3")  # no signal: still cached
    assert send(client, route).json()["code"] == "E000106"
    Application.objects.filter(pk=application.pk).update(ip_allowlist="")  # no signal either
    assert send(client, route, to=numbers(1, 5)).json()["code"] == "000000"


def test_another_process_changing_the_rows_is_seen_through_the_redis_generation(client, route):
    application = route["app"]
    assert send(client, route, to=numbers(1, 0)).json()["code"] == "000000"
    # As another web process changing the application does it: the rows, then the generation
    # (this process's copy is left as it was).
    Application.objects.filter(pk=application.pk).update(status=Application.Status.SUSPENDED)
    get_redis().incr(route_cache.generation_key())
    suspended = send(client, route, to=numbers(1, 1))
    assert (suspended.status_code, suspended.json()["code"]) == (403, "E000103")


def test_a_deactivated_template_is_refused_at_once(client, route, factories):
    assert send(client, route, to=numbers(1, 0)).json()["result"][0]["status"] == "000000"
    route["template"].deactivate(reviewer=None)
    assert send(client, route, to=numbers(1, 1)).json()["result"][0]["status"] == "E200030"


def test_a_cached_campaign_that_is_gone_is_made_again(client, route):
    assert send(client, route, to=numbers(1, 0)).json()["code"] == "000000"
    gone = Campaign.objects.get()
    Message.objects.all().delete()
    Campaign.objects.all().delete()
    # The deletion cleared the cache; as a process that has not seen it yet, keep the old id.
    key = _route_key(route["app"], route["template"], route["signature"], route["connection"])
    route_cache.get(key, lambda: gone.pk)
    assert send(client, route, to=numbers(1, 1)).json()["result"][0]["status"] == "000000"
    campaign = Campaign.objects.get()
    assert campaign.pk != gone.pk and Message.objects.get().campaign == campaign


def _wsgi(request):
    """The response of the web process's WSGI application (smsconsole.wsgi) to a RequestFactory
    request, in the test's transaction (as the test client does, without closing the connection)."""
    from smsconsole.wsgi import application

    status_headers = {}

    def start_response(status, headers, exc_info=None):
        status_headers["status"], status_headers["headers"] = status, headers

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = b"".join(application(request.environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return status_headers["status"], {name.lower(): value for name, value in status_headers["headers"]}, body


def test_the_web_process_serves_the_send_api_without_the_console_middleware(route, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    factory = RequestFactory()
    data = f"from={route['signature'].channel_number}&to=%2B8613800138000&templateId={route['template'].pk}"
    data += "&templateParas=%5B%22123456%22%5D"
    environ_headers = signed(route["app"])
    status, headers, body = _wsgi(
        factory.post(SEND, data, content_type="application/x-www-form-urlencoded", **environ_headers)
    )
    assert status.startswith("200") and b'"000000"' in body
    assert "content-security-policy" not in headers and "set-cookie" not in headers
    assert "x-frame-options" not in headers and "cookie" not in headers.get("vary", "").lower()
    # The console keeps every middleware: its policy, its frame options, its CSRF cookie.
    status, headers, body = _wsgi(factory.get("/login/"))
    assert status.startswith("200")
    assert "content-security-policy" in headers and headers["x-frame-options"] == "DENY"
    assert "csrftoken" in headers.get("set-cookie", "")
