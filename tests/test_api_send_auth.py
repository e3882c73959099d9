"""Who may call the send endpoints, through the endpoint itself (api.auth): both signing modes with
good, wrong, stale and replayed credentials, an unknown app key, the application's IP allow-list and
its request rate, each answered with its code and HTTP status and nothing sent.
(sms.signing's own tests check each header part; tests/test_api_send.py the WSSE basics.)"""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from campaigns.models import Message
from sms import signing
from tests.sending_helpers import sending_redis  # noqa: F401 (fixture)
from tests.test_api_send import DIFF, route, send, signed  # noqa: F401 (fixture)
from tests.test_signing import MALFORMED_WSSE

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def refusal(response):
    return response.status_code, response.json()["code"]


def diff_body(route):
    return json.dumps(
        {
            "from": route["signature"].channel_number,
            "smsContent": [
                {"to": ["+8613800138000"], "templateId": str(route["template"].pk), "templateParas": ["123456"]}
            ],
        }
    ).encode()


def aksk_signed(route, body, secret=None, now=None):
    application = route["app"]
    headers = signing.aksk_headers(
        application.app_key, secret or application.app_secret, "POST", DIFF, "testserver", body, now=now
    )
    return {"HTTP_AUTHORIZATION": headers["Authorization"], "HTTP_X_SDK_DATE": headers["X-Sdk-Date"]}


def send_aksk(client, body, headers):
    return client.post(DIFF, body, content_type="application/json", HTTP_HOST="testserver", **headers)


def wsse_at(route, when):
    headers = signing.wsse_headers(route["app"].app_key, route["app"].app_secret, now=when)
    return {"HTTP_AUTHORIZATION": headers["Authorization"], "HTTP_X_WSSE": headers["X-WSSE"]}


@pytest.mark.parametrize("offset", [timedelta(hours=-1), timedelta(hours=1)])
def test_a_wsse_created_outside_the_clock_skew_is_refused_with_e000110(client, route, offset):
    assert refusal(send(client, route, headers=wsse_at(route, NOW + offset))) == (401, "E000110")
    assert not Message.objects.exists()


def test_a_wsse_created_within_the_clock_skew_is_accepted(client, route):
    assert send(client, route, headers=wsse_at(route, NOW - timedelta(minutes=10))).status_code == 200


def test_an_aksk_request_signed_with_the_right_secret_is_accepted_once_and_its_replay_refused(client, route):
    body = diff_body(route)
    headers = aksk_signed(route, body)
    assert send_aksk(client, body, headers).status_code == 200
    replay = send_aksk(client, body, headers)
    assert refusal(replay) == (401, "E000101") and "accepted once" in replay.json()["description"]
    assert Message.objects.count() == 1


def test_an_aksk_request_signed_with_a_wrong_secret_is_refused_with_e000045(client, route):
    body = diff_body(route)
    assert refusal(send_aksk(client, body, aksk_signed(route, body, secret="not-the-secret"))) == (401, "E000045")
    assert not Message.objects.exists()


def test_an_aksk_request_with_a_stale_sdk_date_is_refused_with_e000110(client, route):
    body = diff_body(route)
    stale = aksk_signed(route, body, now=NOW - timedelta(minutes=20))
    assert refusal(send_aksk(client, body, stale)) == (401, "E000110")
    assert not Message.objects.exists()


def test_an_aksk_body_changed_after_signing_is_refused(client, route):
    body = diff_body(route)
    headers = aksk_signed(route, body)
    changed = body.replace(b"+8613800138000", b"+8613900139000")
    assert refusal(send_aksk(client, changed, headers)) == (401, "E000045")
    assert not Message.objects.exists()


def test_an_unknown_app_key_is_refused_with_e000102_in_both_modes(client, route):
    wsse = signing.wsse_headers("no-such-key", "whatever")
    assert refusal(send(client, route, headers={"HTTP_AUTHORIZATION": wsse["Authorization"],
                                                "HTTP_X_WSSE": wsse["X-WSSE"]})) == (401, "E000102")  # fmt: skip
    body = diff_body(route)
    aksk = signing.aksk_headers("no-such-key", "whatever", "POST", DIFF, "testserver", body)
    headers = {"HTTP_AUTHORIZATION": aksk["Authorization"], "HTTP_X_SDK_DATE": aksk["X-Sdk-Date"]}
    assert refusal(send_aksk(client, body, headers)) == (401, "E000102")
    assert not Message.objects.exists()


def test_an_address_outside_the_applications_allow_list_is_refused_with_e000106(client, route):
    route["app"].ip_allowlist = "10.0.0.0/8\n192.0.2.7"
    route["app"].save(update_fields=["ip_allowlist"])
    outside = send(client, route, headers={**signed(route["app"]), "REMOTE_ADDR": "203.0.113.9"})
    assert refusal(outside) == (403, "E000106") and "203.0.113.9" not in outside.content.decode()
    assert send(client, route, headers={**signed(route["app"]), "REMOTE_ADDR": "10.20.30.40"}).status_code == 200
    assert send(client, route, headers={**signed(route["app"]), "REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert Message.objects.count() == 2


def test_requests_over_the_applications_rate_are_refused_with_e000429_until_the_next_second(client, route, settings):
    settings.SMS_API_REQUESTS_PER_SECOND = 2
    assert [send(client, route).status_code for _ in range(2)] == [200, 200]
    assert refusal(send(client, route)) == (429, "E000429")
    assert Message.objects.count() == 2
    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        assert send(client, route).status_code == 200


def test_the_rate_is_counted_per_application(client, factories, route, settings):
    from tests.sending_helpers import fund

    settings.SMS_API_REQUESTS_PER_SECOND = 1
    other = factories.create_application(route["app"].account, "Other shop")
    other.launch()
    fund(other.account)
    assert send(client, route).status_code == 200
    assert refusal(send(client, route)) == (429, "E000429")
    # The other application's first request of the second is not refused: it reaches the send checks.
    theirs = send(client, route, headers=signed(other))
    assert refusal(theirs) == (400, "E000503")


@pytest.mark.parametrize(
    ("authorization", "x_wsse", "code"),
    # The parser's cases that fail before any application is looked up, and an AK/SK header without
    # a signature (no header at all, a bad Created and a wrong digest have tests of their own here).
    [case for case in MALFORMED_WSSE if case[2] not in {"E000001", "E000110", "E000101"}]
    + [("SDK-HMAC-SHA256 Access=k", "", "E000045")],
)
def test_each_malformed_authorization_is_answered_401_with_its_code_through_the_endpoint(
    client, route, authorization, x_wsse, code
):
    headers = {"HTTP_AUTHORIZATION": authorization, **({"HTTP_X_WSSE": x_wsse} if x_wsse else {})}
    response = send(client, route, headers=headers)
    assert refusal(response) == (401, code) and "result" not in response.json()
    assert not Message.objects.exists()
