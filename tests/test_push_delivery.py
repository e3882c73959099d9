"""The push outbox against a real HTTP receiver on loopback: delivered once, retried with back-off
while the receiver fails, is slow or is down, and given up after 72 hours. Time is moved with
time-machine; the HTTP is real."""

import socket
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from campaigns import push
from campaigns.models import Push, PushAttempt
from tests.push_receiver import Receiver

START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def owe(shop, url, key="reply:1", body=None, format=Push.Format.FORM):
    body = body or {"smsMsgId": "m-1", "from": "+8613800138000", "to": "10690001", "body": "退订"}
    assert push.enqueue(kind=Push.Kind.REPLY, account_id=shop.account_id, application_id=shop.pk, url=url,
                        body=body, dedupe_key=key, format=format)  # fmt: skip
    return Push.objects.get(dedupe_key=key)


def test_a_push_is_posted_form_encoded_and_marked_delivered_with_its_attempt_logged(clock, shop):
    with Receiver() as receiver:
        owed = owe(shop, receiver.url)
        assert push.deliver_due() == {"claimed": 1, "delivered": 1, "retry": 0, "gave_up": 0}

    assert receiver.requests == [
        (
            "application/x-www-form-urlencoded",
            {"smsMsgId": "m-1", "from": "+8613800138000", "to": "10690001", "body": "退订"},
            200,
        )
    ]
    owed.refresh_from_db()
    assert (owed.status, owed.attempts, owed.delivered_at, owed.last_error) == ("delivered", 1, START, "")
    attempt = PushAttempt.objects.get()
    assert (attempt.number, attempt.status_code, attempt.error, attempt.ok) == (1, 200, "", True)


def test_a_json_push_is_posted_as_json(clock, shop):
    reports = {"statusReportList": [{"smsMsgId": "a", "status": "DELIVRD"}, {"smsMsgId": "b", "status": "UNDELIV"}]}
    with Receiver() as receiver:
        owe(shop, receiver.url, body=reports, format=Push.Format.JSON)
        push.deliver_due()

    assert receiver.requests == [("application/json", reports, 200)]


def test_the_same_event_enqueued_twice_is_one_push(shop):
    assert push.enqueue(kind="reply", account_id=shop.account_id, application_id=shop.pk, url="http://x.example/",
                        body={"a": "1"}, dedupe_key="reply:42")  # fmt: skip
    assert not push.enqueue(kind="reply", account_id=shop.account_id, application_id=shop.pk,
                            url="http://x.example/", body={"a": "2"}, dedupe_key="reply:42")  # fmt: skip
    assert Push.objects.get().body == {"a": "1"}


def test_a_receiver_that_fails_then_recovers_gets_the_push_again_with_back_off_and_exactly_once_with_success(
    clock, shop
):
    with Receiver(script=[500, 503]) as receiver:
        owed = owe(shop, receiver.url)
        assert push.deliver_due()["retry"] == 1
        owed.refresh_from_db()
        assert (owed.attempts, owed.next_attempt_at, owed.last_error) == (1, START + timedelta(seconds=30), "HTTP 500")

        clock.move_to(START + timedelta(seconds=29))
        assert push.deliver_due()["claimed"] == 0  # not due yet

        clock.move_to(START + timedelta(seconds=30))
        assert push.deliver_due()["retry"] == 1
        owed.refresh_from_db()
        assert owed.next_attempt_at == START + timedelta(seconds=90)  # then a minute

        clock.move_to(START + timedelta(seconds=90))
        assert push.deliver_due()["delivered"] == 1
        for later in (100, 1000, 100_000):
            clock.move_to(START + timedelta(seconds=later))
            assert push.deliver_due()["claimed"] == 0

    assert [status for _kind, _body, status in receiver.requests] == [500, 503, 200]
    assert len(receiver.delivered()) == 1
    owed.refresh_from_db()
    assert (owed.status, owed.attempts) == ("delivered", 3)
    assert list(owed.attempt_log.values_list("number", "status_code", "error")) == [
        (1, 500, "HTTP 500"),
        (2, 503, "HTTP 503"),
        (3, 200, ""),
    ]


def test_a_slow_receiver_times_out_and_gets_the_push_again_later(clock, shop, settings):
    settings.SMS_PUSH_TIMEOUT = 1
    with Receiver(script=["slow"], slow_seconds=2.5) as receiver:
        owed = owe(shop, receiver.url)
        assert push.deliver_due()["retry"] == 1
        owed.refresh_from_db()
        assert owed.last_error == "no answer within 1 s"
        clock.move_to(START + timedelta(seconds=30))
        assert push.deliver_due()["delivered"] == 1

    attempt = owed.attempt_log.get(number=1)
    assert attempt.status_code is None and attempt.duration_ms >= 1000


def test_a_receiver_that_is_down_gets_the_push_once_it_listens_again(clock, shop):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{probe.getsockname()[1]}/mo"
    owed = owe(shop, closed_url)
    assert push.deliver_due()["retry"] == 1
    owed.refresh_from_db()
    assert owed.last_error.startswith("ConnectionError")

    with Receiver() as receiver:
        Push.objects.filter(pk=owed.pk).update(url=receiver.url)  # the receiver is back (on its new port)
        clock.move_to(START + timedelta(seconds=30))
        assert push.deliver_due()["delivered"] == 1
    assert len(receiver.delivered()) == 1


def test_back_off_doubles_from_thirty_seconds_to_an_hour():
    assert [push.backoff(n).total_seconds() for n in (1, 2, 3, 4, 7, 8, 9, 50)] == [
        30, 60, 120, 240, 1920, 3600, 3600, 3600
    ]  # fmt: skip


def test_a_push_still_failing_after_72_hours_is_given_up_and_never_tried_again(clock, shop):
    with Receiver(script=[500] * 1000) as receiver:
        owed = owe(shop, receiver.url)
        for _ in range(200):
            push.deliver_due()
            owed.refresh_from_db()
            if owed.status != Push.Status.PENDING:
                break
            clock.move_to(owed.next_attempt_at)
        assert owed.status == Push.Status.GAVE_UP
        assert owed.gave_up_at == START + timedelta(hours=72)  # the last try at the end of the period
        clock.move_to(START + timedelta(days=10))
        assert push.deliver_due()["claimed"] == 0

    assert len(receiver.requests) == owed.attempts == owed.attempt_log.count()
    # 30 s doubling to the hourly cap (about 4 h), then hourly: some 75 tries in 72 hours.
    assert 70 <= owed.attempts <= 80
    assert owed.last_error == "HTTP 500" and not receiver.delivered()


def test_a_claimed_push_is_not_claimed_again_while_its_delivery_runs(clock, shop):
    owe(shop, "http://127.0.0.1:9/never")
    assert len(push.claim_due(START)) == 1
    assert push.claim_due(START) == {}
    # A worker that died mid-delivery: the lease runs out and the push is claimed again.
    assert push.claim_due(START + push.LEASE) != {}
