"""API sends through real processes: the send endpoint (this process, Django's test client, signed
with X-WSSE as a client signs), the SMSC simulator, a Celery worker and the gateway, PostgreSQL
and Redis. What reached the simulator and what a real HTTP receiver got as statusCallback pushes
are counted where they would hurt, not inferred from our rows.

The second test is the priority path: a one-number request made while a campaign's batches wait
on the bulk list reaches the simulator before those batches (the simulator's per-destination
counts keep their first-arrival order)."""

import time
from urllib.parse import urlencode

import pytest
from django.db.models import Sum

from campaigns.models import Campaign, HourlyStat, Message
from campaigns.status_reports import message_ref
from sms import signing
from tests.push_receiver import Receiver
from tests.sending_helpers import (
    add_simulator_connection,
    phones,
    sending_redis,  # noqa: F401 (fixture)
    simulator,
    wait_for,
    worker_and_gateway,
)

NUMBERS = 500


@pytest.fixture
def code_template(factories, shop):
    shop.launch()
    signature = factories.create_signature(shop, name="Acme", type="verification")
    return factories.create_template(
        shop, signature=signature, type="verification", name="code", content="Your code is ${1}.",
        variables=[("CHARDIGIT", 6)],
    )  # fmt: skip


def batch_send_sms(client, application, template, numbers, **fields):
    data = {
        "from": template.signature.channel_number,
        "to": ",".join(numbers),
        "templateId": str(template.pk),
        "templateParas": '["424242"]',
        **fields,
    }
    headers = signing.wsse_headers(application.app_key, application.app_secret)
    response = client.post(
        "/sms/batchSendSms/v1", urlencode(data), content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=headers["Authorization"], HTTP_X_WSSE=headers["X-WSSE"],
    )  # fmt: skip
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_500_number_request_is_sent_once_to_each_and_every_status_callback_is_pushed(
    client, postgres_url, redis_url, sending_redis, tmp_path, shop, code_template
):
    numbers = phones(NUMBERS)
    with simulator(tmp_path, "--dlr-delay", "0.05") as smsc, Receiver() as receiver:
        add_simulator_connection(smsc)
        with worker_and_gateway(postgres_url, redis_url, tmp_path, smsc) as processes:
            body = batch_send_sms(client, shop, code_template, numbers, statusCallback=receiver.url, extend="b-1")
            wait_for(lambda: len(receiver.delivered()) >= NUMBERS, 90, "every status callback", processes)
            time.sleep(1.0)  # a second push of any report would come in this time
        stats = smsc.stats()

    assert body["code"] == "000000"
    assert [entry["status"] for entry in body["result"]] == ["000000"] * NUMBERS
    assert stats["submits"] == NUMBERS and stats["duplicates"] == 0 and stats["duplicate_submits"] == 0
    assert sorted(stats["per_destination"]) == sorted(n.lstrip("+") for n in numbers)
    assert set(stats["per_destination"].values()) == {1}

    pushed = receiver.delivered()
    assert len(receiver.requests) == NUMBERS  # one push each, none twice
    assert sorted(p["smsMsgId"] for p in pushed) == sorted(entry["smsMsgId"] for entry in body["result"])
    assert {(p["status"], p["extend"], p["source"]) for p in pushed} == {("DELIVRD", "b-1", "2")}
    assert sorted(p["to"] for p in pushed) == sorted(numbers)
    by_id = {entry["smsMsgId"]: entry["originTo"] for entry in body["result"]}
    assert all(by_id[p["smsMsgId"]] == p["to"] for p in pushed)

    campaign = Campaign.objects.get(source=Campaign.Source.API)
    assert (campaign.status, campaign.total, campaign.delivered, campaign.queued, campaign.sending) == (
        "running", NUMBERS, NUMBERS, 0, 0,
    )  # fmt: skip
    assert Message.objects.filter(campaign=campaign, status="delivered").count() == NUMBERS
    stat = HourlyStat.objects.filter(application=shop).aggregate(total=Sum("total"), delivered=Sum("delivered"))
    assert stat == {"total": NUMBERS, "delivered": NUMBERS}
    first = Message.objects.filter(campaign=campaign).order_by("id").first()
    assert message_ref(first.pk) == body["result"][0]["smsMsgId"] and first.attempts == 1


BULK = 3000
BATCH = 200


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_one_number_request_overtakes_the_batches_a_campaign_has_waiting(
    client, postgres_url, redis_url, sending_redis, tmp_path, shop, code_template
):
    from tests.sending_helpers import create_campaign, create_import

    bulk_numbers = phones(BULK)
    code_number = "+8613999999999"
    with simulator(tmp_path) as smsc:
        # One bulk consumer at 600 segments a second: the campaign's 15 batches of 200 take about
        # 5 s, 8 of them waiting on the bulk list at a time.
        add_simulator_connection(smsc, tps=600)
        recipients = create_import(shop, code_template, [(n, ["1"]) for n in bulk_numbers])
        with worker_and_gateway(
            postgres_url, redis_url, tmp_path, smsc, "--consumers", "1", SMS_BATCH_SIZE=BATCH
        ) as processes:
            from campaigns.models import ProviderConnection

            campaign = create_campaign(
                shop, code_template, ProviderConnection.objects.get(name="simulator"), recipient_import=recipients
            )
            campaign.launch()
            wait_for(lambda: smsc.stats()["submits"] >= 400, 60, "the campaign's first submits", processes)

            submitted_when_asked = smsc.stats()["submits"]
            asked, asked_at = time.monotonic(), time.time()
            body = batch_send_sms(client, shop, code_template, [code_number])
            answered = time.monotonic()
            arrived = wait_for(
                lambda: code_number.lstrip("+") in smsc.stats()["per_destination"] and time.monotonic(),
                30, "the code at the simulator", processes, interval=0.02,
            )  # fmt: skip
            order = list(smsc.stats()["per_destination"])
            wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == "completed", 90, "the campaign", processes)
        final = smsc.stats()

    assert body["result"][0]["status"] == "000000"
    before = order.index(code_number.lstrip("+"))
    after = BULK - before
    code = Message.objects.get(phone=code_number, via_api=True)
    claimed = code.submitted_at.timestamp() - asked_at
    print(
        f"verification code: {arrived - asked:.3f} s from request to the simulator (answered in "
        f"{answered - asked:.3f} s, claimed after {claimed:.3f} s); {before} bulk messages before it, {after} after"
    )
    # Behind the batches waiting on the bulk list it would have come after seven more of them; it
    # came after at most the batch being sent when it was asked (and one more: the poll's slack).
    assert before <= submitted_when_asked + 2 * BATCH, (submitted_when_asked, before, after)
    assert final["submits"] == BULK + 1 and final["duplicates"] == 0
