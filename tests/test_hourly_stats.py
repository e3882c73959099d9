"""HourlyStat follows the messages: after a campaign sent through the gateway (submit failures, a
lost answer, a throttled retry, receipts before and after their submit result) the SUM of its
delta rows equals the message rows in every column, and squashing keeps the sums."""

import asyncio

import pytest

from campaigns import gateway, lifecycle
from campaigns.models import HourlyStat, Message
from campaigns.tasks import squash_hourly_stats
from sms.smpp.client import Receipt, SubmitResult
from tests.sending_helpers import counters, phones, sending_redis  # noqa: F401 (fixture)
from tests.test_gateway import FakeClient, campaign_status, launch, make_gateway, run_until


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Order ${1} shipped.")


@pytest.fixture
def connection(db):
    from tests.sending_helpers import create_connection

    return create_connection(window=32, max_binds=2)


def expected_from_rows(campaign):
    return lifecycle.hourly_from_messages(Message.objects.filter(campaign=campaign))


def hourly(campaign):
    return lifecycle.hourly_sums(HourlyStat.objects.filter(template_id=campaign.template_id))


def test_the_hourly_sums_equal_the_messages_after_a_campaign(
    shop, template, connection, settings, sending_redis, monkeypatch
):
    monkeypatch.setattr(gateway, "RETRY_PAUSE", 0)
    FakeClient.instances = []
    numbers = phones(12)
    campaign = launch(shop, template, connection, [(p, [f"A{n}"]) for n, p in enumerate(numbers)], settings)
    throttled = set()

    def answer(request, number):
        if request.destination == numbers[0]:
            return SubmitResult(request.ref, False, (), 0x0B, "ESME_RINVDSTADR", True, False, 1)
        if request.destination == numbers[1]:
            return SubmitResult(request.ref, False, (), -1, "connection lost", False, True, 1)
        if request.destination == numbers[2] and number not in throttled and not throttled:
            throttled.add(number)
            return SubmitResult(request.ref, False, (), 0x58, "ESME_RTHROTTLED", False, False, 1)
        return None

    async def receipts(requests):
        client = FakeClient.instances[0]
        first = len(client.submitted) - len(requests) + 1
        # Early receipts for the chunk just sent: half delivered, the rest refused by the handset.
        items = [
            Receipt(f"id{first + i}", "DELIVRD" if i % 2 else "UNDELIV", "000" if i % 2 else "005", "", "", "")
            for i in range(len(requests))
        ]
        await client.on_receipts(items[:-1])  # the last of each chunk stays submitted

    gw = make_gateway(connection, answer=answer, before_answer=receipts)
    asyncio.run(
        run_until(gw, lambda: campaign_status(campaign) == "completed" and counters(campaign)["submitted"] <= 4)
    )

    rows = expected_from_rows(campaign)
    assert rows["delivered"] and rows["failed"] and rows["unknown"] == 1 and rows["sending"]
    assert hourly(campaign) == rows
    assert rows["total"] == rows["sending"] + rows["delivered"] + rows["failed"] + rows["unknown"]
    assert lifecycle.reconcile(campaign.pk) == {}

    assert HourlyStat.objects.filter(is_squashed=False).count() > 1
    squash_hourly_stats()
    assert hourly(campaign) == rows
    assert not HourlyStat.objects.filter(is_squashed=False).exists()
    assert HourlyStat.objects.count() == 1  # one key: one application, signature, template, type and hour


def test_squashing_twice_changes_nothing_and_a_key_that_sums_to_zero_leaves_no_row(shop, template, connection):
    from campaigns.tasks import plan_campaign
    from tests.sending_helpers import create_campaign

    campaign = create_campaign(shop, template, connection, phones(2), status="running")
    plan_campaign(campaign.pk)
    ids = list(Message.objects.filter(campaign=campaign).values_list("id", flat=True))
    lifecycle.claim(campaign.pk, ids)
    lifecycle.requeue(ids)  # every hourly column back to zero
    assert HourlyStat.objects.count() == 2
    assert lifecycle.squash_hourly() == 1
    assert not HourlyStat.objects.exists()
    assert lifecycle.squash_hourly() == 0
