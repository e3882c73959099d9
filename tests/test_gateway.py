"""The gateway's logic with an in-process stand-in for the SMPP client and the ORM run inline."""

import asyncio

import pytest
from django.db import connections
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from campaigns import dispatch, gateway
from campaigns.models import Batch, Campaign, Message, OptOut, PendingReceipt, Reply
from campaigns.tasks import dispatch_campaign, plan_campaign
from sms.smpp.client import Inbound, Receipt, SubmitResult
from tests.sending_helpers import (  # noqa: F401 (fixture)
    counters,
    create_campaign,
    create_connection,
    phones,
    rows_by_status,
    sending_redis,
)


class InlineDatabase:
    """Runs the gateway's ORM calls in the test's thread, on the test's connection and transaction.

    Django keeps connections in a context-local, so each asyncio task would open its own; the
    test's connection is handed to every call instead.
    """

    def __init__(self):
        self.connection = connections["default"]

    async def __call__(self, func, *args):
        connections["default"] = self.connection
        return func(*args)

    def shutdown(self):
        pass


class FakeClient:
    """Answers every submit with ok and a sequential message id, unless `answer` says otherwise."""

    instances = []

    def __init__(self, host, port, system_id, password, *, system_type="", binds=1, window=64, on_receipts=None,
                 on_inbound=None):  # fmt: skip
        self.settings = dict(host=host, port=port, system_id=system_id, password=password, binds=binds, window=window)
        self.on_receipts = on_receipts
        self.on_inbound = on_inbound
        self.submitted = []
        self.chunks = []
        self.answer = lambda request, number: None  # a SubmitResult, or None to accept
        self.before_answer = None  # async hook(requests), e.g. to deliver receipts early
        self.after_chunk = None  # hook(chunk number), e.g. to pause the campaign
        self.started = self.stopped = False
        FakeClient.instances.append(self)

    bound_sessions = 1

    async def start(self):
        self.started = True

    async def wait_connected(self, timeout=None):
        pass

    async def stop(self):
        self.stopped = True

    async def submit_many(self, requests):
        self.chunks.append(list(requests))
        results = []
        for request in requests:
            self.submitted.append(request)
            number = len(self.submitted)
            special = self.answer(request, number)
            results.append(special or SubmitResult(request.ref, True, (f"id{number}",), 0, "", False, False, 1))
        if self.before_answer:
            await self.before_answer(requests)
        if self.after_chunk:
            self.after_chunk(len(self.chunks))
        return results


@pytest.fixture(autouse=True)
def _fresh_clients():
    FakeClient.instances = []


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Order ${1} shipped.")


@pytest.fixture
def connection(db):
    return create_connection(window=32, max_binds=2)


def launch(shop, template, connection, rows, settings, batch_size=1000):
    settings.SMS_BATCH_SIZE = batch_size
    campaign = create_campaign(shop, template, connection, rows, status=Campaign.Status.RUNNING)
    plan_campaign(campaign.pk)
    dispatch_campaign(campaign.pk)
    return campaign


def make_gateway(connection, answer=None, before_answer=None, after_chunk=None, **options):
    """A gateway whose SMPP clients are FakeClients with these hooks."""
    options.setdefault("chunk_size", 3)
    options.setdefault("poll_interval", 0.05)

    def factory(*args, **kwargs):
        client = FakeClient(*args, **kwargs)
        client.answer = answer or client.answer
        client.before_answer, client.after_chunk = before_answer, after_chunk
        return client

    return gateway.Gateway([connection], gateway_id="test", client_factory=factory, db=InlineDatabase(), **options)


async def run_until(gw, done, timeout=10.0):
    """Runs the gateway until `done()` is true (checked between loop turns), then stops it."""
    stopping = asyncio.Event()

    async def watch():
        connections["default"] = gw.db.connection  # the test's, captured outside the loop
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while not done():
                if loop.time() > deadline:
                    raise AssertionError("the gateway did not get there in time")
                await asyncio.sleep(0.01)
        finally:
            stopping.set()

    watcher = asyncio.create_task(watch())
    await gw.run(stopping)
    await watcher


def campaign_status(campaign):
    return Campaign.objects.get(pk=campaign.pk).status


def test_the_gateway_sends_a_campaign_and_completes_it(shop, template, connection, settings, sending_redis):
    rows = [(phone, [f"A{n}"]) for n, phone in enumerate(phones(7))]
    campaign = launch(shop, template, connection, rows, settings)
    gw = make_gateway(connection)

    asyncio.run(run_until(gw, lambda: campaign_status(campaign) == "completed"))

    client = FakeClient.instances[0]
    assert client.settings == dict(
        host="127.0.0.1", port=2775, system_id="smsconsole", password="secret", binds=2, window=32
    )
    assert client.started and client.stopped
    assert [len(chunk) for chunk in client.chunks] == [3, 3, 1]
    first = client.submitted[0]
    assert (first.source, first.destination, first.text) == (
        template.signature.channel_number,
        phones(1)[0],
        f"【{template.signature.name}】Order A0 shipped.",
    )
    assert rows_by_status(campaign)["submitted"] == 7
    assert sorted(Message.objects.filter(campaign=campaign).values_list("provider_id", flat=True)) == sorted(
        f"id{n}" for n in range(1, 8)
    )
    assert counters(campaign)["submitted"] == 7 and counters(campaign)["queued"] == 0
    assert set(Batch.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"done"}
    assert sending_redis.llen(dispatch.processing_key(connection.pk, "test")) == 0


def test_receipts_arriving_before_the_submit_result_are_applied(shop, template, connection, settings, sending_redis):
    campaign = launch(shop, template, connection, phones(4), settings)

    async def receipts_first(requests):
        client = FakeClient.instances[0]
        first_id = len(client.submitted) - len(requests) + 1
        ids = [f"id{first_id + i}" for i in range(len(requests))]
        await client.on_receipts([Receipt(i, "DELIVRD", "000", "", "", "") for i in ids])
        assert PendingReceipt.objects.filter(provider_id__in=ids).count() == len(ids)  # stored, not yet matched

    gw = make_gateway(connection, before_answer=receipts_first)
    asyncio.run(run_until(gw, lambda: counters(campaign)["delivered"] == 4))

    assert rows_by_status(campaign)["delivered"] == 4
    assert counters(campaign)["submitted"] == 0
    assert not PendingReceipt.objects.exists()


def test_outcomes_are_recorded_as_failed_unknown_or_sent_again(
    shop, template, connection, settings, sending_redis, monkeypatch
):
    monkeypatch.setattr(gateway, "RETRY_PAUSE", 0)
    campaign = launch(shop, template, connection, phones(4), settings)
    numbers = phones(4)
    throttled_once = set()

    def answer(request, number):
        if request.destination == numbers[0]:
            return SubmitResult(request.ref, False, (), 0x0B, "ESME_RINVDSTADR", True, False, 1)
        if request.destination == numbers[1]:
            return SubmitResult(request.ref, False, (), -1, "connection lost before submit_sm_resp", False, True, 1)
        if request.destination == numbers[2] and request.destination not in throttled_once:
            throttled_once.add(request.destination)
            return SubmitResult(request.ref, False, (), 0x58, "ESME_RTHROTTLED after 21 attempts", False, False, 1)
        return None

    gw = make_gateway(connection, answer=answer)
    asyncio.run(run_until(gw, lambda: campaign_status(campaign) == "completed"))

    messages = {m.phone: m for m in Message.objects.filter(campaign=campaign)}
    assert (messages[numbers[0]].status, messages[numbers[0]].error_code, messages[numbers[0]].error) == (
        "failed",
        "11",
        "ESME_RINVDSTADR",
    )
    assert (messages[numbers[1]].status, messages[numbers[1]].error) == ("unknown", "connection lost before the answer")
    assert (messages[numbers[2]].status, messages[numbers[2]].attempts) == ("submitted", 2)
    assert messages[numbers[3]].status == "submitted"
    sent_to = [r.destination for r in FakeClient.instances[0].submitted]
    assert sent_to.count(numbers[1]) == 1  # an unknown outcome is never sent again
    assert counters(campaign) | {"total": 4} == {
        "total": 4,
        "queued": 0,
        "sending": 0,
        "submitted": 2,
        "delivered": 0,
        "failed": 1,
        "expired": 0,
        "unknown": 1,
        "skipped": 0,
        "cancelled": 0,
    }


def test_a_message_refused_for_a_passing_reason_too_often_fails_for_good(
    shop, template, connection, settings, sending_redis, monkeypatch
):
    monkeypatch.setattr(gateway, "RETRY_PAUSE", 0)
    campaign = launch(shop, template, connection, phones(1), settings)
    gw = make_gateway(
        connection, answer=lambda r, n: SubmitResult(r.ref, False, (), 0x58, "throttled", False, False, 1)
    )
    asyncio.run(run_until(gw, lambda: campaign_status(campaign) == "completed"))

    message = Message.objects.get(campaign=campaign)
    assert (message.status, message.attempts) == ("failed", gateway.MAX_ATTEMPTS)
    assert len(FakeClient.instances[0].submitted) == gateway.MAX_ATTEMPTS


def test_pause_stops_sending_after_the_current_chunk_and_resume_finishes(
    shop, template, connection, settings, sending_redis, django_capture_on_commit_callbacks
):
    campaign = launch(shop, template, connection, phones(9), settings)

    def pause_after_first_chunk(number):
        if number == 1:
            Campaign.objects.get(pk=campaign.pk).pause()

    gw = make_gateway(connection, after_chunk=pause_after_first_chunk)
    asyncio.run(run_until(gw, lambda: Batch.objects.filter(campaign=campaign, status="pending").exists()))

    assert len(FakeClient.instances[0].submitted) == 3
    assert rows_by_status(campaign)["queued"] == 6
    assert sending_redis.llen(dispatch.processing_key(connection.pk, "test")) == 0

    with django_capture_on_commit_callbacks(execute=True):
        Campaign.objects.get(pk=campaign.pk).resume()
    asyncio.run(run_until(make_gateway(connection), lambda: campaign_status(campaign) == "completed"))

    assert len(FakeClient.instances[1].submitted) == 6
    assert rows_by_status(campaign)["submitted"] == 9
    phones_sent = [r.destination for c in FakeClient.instances for r in c.submitted]
    assert sorted(phones_sent) == sorted(phones(9))


def test_a_cancelled_campaign_sends_nothing_more(
    shop, template, connection, settings, sending_redis, django_capture_on_commit_callbacks
):
    campaign = launch(shop, template, connection, phones(5), settings)
    with django_capture_on_commit_callbacks(execute=True):
        Campaign.objects.get(pk=campaign.pk).cancel()
    gw = make_gateway(connection)

    asyncio.run(
        run_until(
            gw,
            lambda: (
                sending_redis.llen(dispatch.queue_key(connection.pk)) == 0
                and sending_redis.llen(dispatch.processing_key(connection.pk, "test")) == 0
            ),
        )
    )

    assert FakeClient.instances[0].submitted == []
    assert rows_by_status(campaign)["cancelled"] == 5


def test_a_job_pushed_twice_is_sent_once(shop, template, connection, settings, sending_redis):
    campaign = launch(shop, template, connection, phones(4), settings)
    batch = Batch.objects.get(campaign=campaign)
    dispatch.push_jobs(connection.pk, campaign.pk, [batch.pk])  # a second copy of the job
    gw = make_gateway(connection)

    asyncio.run(
        run_until(
            gw,
            lambda: (
                campaign_status(campaign) == "completed" and sending_redis.llen(dispatch.queue_key(connection.pk)) == 0
            ),
        )
    )

    assert sorted(r.destination for r in FakeClient.instances[0].submitted) == sorted(phones(4))


def test_jobs_left_on_its_processing_list_are_taken_up_again_at_start(
    shop, template, connection, settings, sending_redis
):
    campaign = launch(shop, template, connection, phones(3), settings)
    # As if this gateway had been killed holding the job.
    sending_redis.lmove(
        dispatch.queue_key(connection.pk), dispatch.processing_key(connection.pk, "test"), "RIGHT", "LEFT"
    )
    assert sending_redis.llen(dispatch.queue_key(connection.pk)) == 0

    asyncio.run(run_until(make_gateway(connection), lambda: campaign_status(campaign) == "completed"))

    assert len(FakeClient.instances[0].submitted) == 3


def test_receipts_of_the_later_parts_of_a_long_message_are_dropped(shop, template, connection, settings, sending_redis):
    campaign = launch(shop, template, connection, phones(1), settings)
    gw = make_gateway(
        connection, answer=lambda r, n: SubmitResult(r.ref, True, ("first", "second"), 0, "", False, False, 2)
    )

    async def scenario():
        await run_until(gw, lambda: campaign_status(campaign) == "completed")
        runner = gw.runners[0]
        await runner.on_receipts(
            [Receipt("second", "DELIVRD", "", "", "", ""), Receipt("first", "DELIVRD", "", "", "", "")]
        )

    asyncio.run(scenario())

    assert not PendingReceipt.objects.exists()  # "second" dropped, "first" applied at once
    assert Message.objects.get(campaign=campaign).status == "delivered"


# A Redis error is handled apart from the rest (the job waits for Redis to answer); both put it back.
@pytest.mark.parametrize(
    "error", [RuntimeError("database went away"), RedisConnectionError("Connection reset by peer")], ids=["db", "redis"]
)
def test_a_batch_that_fails_midway_is_queued_again_and_sends_the_rest_once(
    shop, template, connection, settings, sending_redis, error
):
    campaign = launch(shop, template, connection, phones(7), settings)
    failures = []

    def fail_once(chunk_number):
        if not failures:
            failures.append(chunk_number)
            raise error

    gw = make_gateway(connection, after_chunk=fail_once)

    asyncio.run(run_until(gw, lambda: rows_by_status(campaign)["submitted"] == 4))

    assert failures == [1]
    # The first chunk reached the provider before the failure and its outcome was never recorded:
    # it stays SENDING (for the sweeper to mark unknown) and the retried batch does not send it again.
    assert rows_by_status(campaign)["sending"] == 3 and rows_by_status(campaign)["queued"] == 0
    assert len(FakeClient.instances[0].submitted) == 7
    assert len({request.destination for request in FakeClient.instances[0].submitted}) == 7
    assert sending_redis.llen(dispatch.processing_key(connection.pk, "test")) == 0


def test_a_redis_timeout_before_a_claim_puts_the_job_back_and_the_batch_finishes(
    shop, template, connection, settings, sending_redis, monkeypatch
):
    campaign = launch(shop, template, connection, phones(7), settings)
    acquire, calls = gateway.AsyncTokenBucket.acquire, []

    async def times_out_once(bucket, needed, **kwargs):
        calls.append(needed)
        if len(calls) == 2:  # the second chunk's tokens: Redis does not answer in time
            raise RedisTimeoutError("Timeout reading from socket")
        return await acquire(bucket, needed, **kwargs)

    monkeypatch.setattr(gateway.AsyncTokenBucket, "acquire", times_out_once)
    gw = make_gateway(connection)

    # Left on this live gateway's processing list, the job was never taken again: no completion.
    asyncio.run(run_until(gw, lambda: campaign_status(campaign) == "completed"))

    submitted = FakeClient.instances[0].submitted
    assert sorted(request.destination for request in submitted) == sorted(phones(7))  # each once
    assert rows_by_status(campaign)["submitted"] == 7
    assert sending_redis.llen(dispatch.processing_key(connection.pk, "test")) == 0


def test_messages_put_back_after_a_cancel_are_cancelled_too(shop, template, connection, settings, sending_redis):
    campaign = launch(shop, template, connection, phones(7), settings)
    throttled = SubmitResult  # a non-permanent, non-ambiguous refusal: the message goes back to queued

    def refuse_and_cancel(request, number):
        if number == 1:
            Campaign.objects.get(pk=campaign.pk).cancel()
        return throttled(request.ref, False, (), 0x58, "ESME_RTHROTTLED", False, False, 1)

    gw = make_gateway(connection, answer=refuse_and_cancel)

    asyncio.run(
        run_until(gw, lambda: rows_by_status(campaign)["queued"] == 0 and rows_by_status(campaign)["sending"] == 0)
    )

    assert rows_by_status(campaign)["cancelled"] == 7
    assert counters(campaign)["queued"] == 0 and counters(campaign)["cancelled"] == 7


def test_replies_the_client_hands_over_are_stored_before_it_acknowledges_them(
    shop, template, connection, settings, sending_redis
):
    campaign = launch(shop, template, connection, phones(1), settings)
    gw = make_gateway(connection)

    async def scenario():
        await run_until(gw, lambda: campaign_status(campaign) == "completed")
        client = FakeClient.instances[0]
        # The client is built with the gateway's hook, and sends deliver_sm_resp once it returns.
        await client.on_inbound([Inbound(phones(1)[0].lstrip("+"), template.signature.channel_number, "TD")])

    asyncio.run(scenario())

    reply = Reply.objects.get()
    assert (reply.phone, reply.text, reply.signature_id, reply.campaign_id) == (
        phones(1)[0], "TD", template.signature_id, campaign.pk,
    )  # fmt: skip
    assert OptOut.objects.get().phone == phones(1)[0] and gw.runners[0].stats["replies"] == 1
