"""The send-time rules hold for API sends as for campaigns (issue 11: "each rule on both the campaign
and the API path"): numbers accepted by batchSendSms go through the same gateway claim
(campaigns.sending_rules) — opt-outs and frequency caps skip them with their reason, quiet hours,
the quota and the balance hold the application's hidden API campaign and the usual resume
machinery sends the rest, each number once. The campaign path's own tests are in
tests/test_sending_rules.py; this module drives the endpoint and the gateway (FakeClient SMSC)."""

import asyncio
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine

from campaigns import frequency, lifecycle, money, sending_rules
from campaigns.models import Campaign, Message, OptOut
from campaigns.models.limits import AccountLimits
from campaigns.tasks import dispatch_campaign
from smsconsole.models import Account
from tests.sending_helpers import phones, sending_redis  # noqa: F401 (fixture)
from tests.test_api_send import route, send  # noqa: F401 (fixture)
from tests.test_gateway import FakeClient, _fresh_clients, make_gateway, run_until  # noqa: F401

SHANGHAI = ZoneInfo("Asia/Shanghai")


def api_campaign():
    return Campaign.objects.get(source=Campaign.Source.API)


def accept(client, route, numbers):
    body = send(client, route, to=",".join(numbers)).json()
    assert [result["status"] for result in body["result"]] == ["000000"] * len(numbers), body
    return api_campaign()


def statuses():
    return dict(Message.objects.values_list("phone", "status"))


def skip_reasons():
    return dict(Message.objects.filter(status="skipped").values_list("phone", "skip_reason"))


def submitted_to():
    return [request.destination for client in FakeClient.instances for request in client.submitted]


def settled():
    return not Message.objects.filter(status__in=["queued", "sending"]).exists()


def held(reason):
    def done():
        campaign = api_campaign()
        return (
            campaign.status == "paused"
            and campaign.pause_reason == reason
            and not campaign.batches.filter(status="pushed").exists()
        )

    return done


def test_a_number_opted_out_after_the_request_is_skipped_at_send(client, route, sending_redis):
    numbers = phones(3)
    campaign = accept(client, route, numbers)
    OptOut.objects.create(account=route["app"].account, phone=numbers[1])

    asyncio.run(run_until(make_gateway(route["connection"]), settled))

    assert skip_reasons() == {numbers[1]: "opt_out"}
    assert sorted(submitted_to()) == [numbers[0], numbers[2]]
    assert lifecycle.reconcile(campaign.pk) == {}


def test_a_number_over_its_frequency_cap_is_skipped_not_delayed(client, route, sending_redis):
    numbers = phones(2)
    # A campaign (or another request) already reached the first number with codes up to its caps.
    caps = frequency.FrequencyCaps.for_account(route["app"].account_id)
    caps.admit([(f"other{n}", numbers[0], "verification", f"Your code is {n}.") for n in range(50)])
    campaign = accept(client, route, numbers)

    asyncio.run(run_until(make_gateway(route["connection"]), settled))

    assert skip_reasons() == {numbers[0]: "frequency_cap"}
    assert submitted_to() == [numbers[1]]
    assert lifecycle.reconcile(campaign.pk) == {}


def test_a_promotion_sent_at_23_00_is_held_until_08_00_and_then_sent(client, factories, route, sending_redis):
    signature = factories.create_signature(route["app"], name="Sale", type="promotion")
    template = factories.create_template(
        route["app"], signature=signature, type="promotion", name="sale", content="Sale ${1}! Reply R to stop",
        variables=[("CHARDIGIT", 6)],
    )  # fmt: skip
    promotion = {**route, "signature": signature, "template": template}
    numbers = phones(2)
    with time_machine.travel(datetime(2026, 12, 1, 23, 0, tzinfo=SHANGHAI), tick=True):
        campaign = accept(client, promotion, numbers)  # accepted, not refused: it waits
        asyncio.run(run_until(make_gateway(route["connection"]), held("quiet_hours")))
        assert api_campaign().resume_at == datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
        assert submitted_to() == [] and set(statuses().values()) == {"queued"}
        assert sending_rules.resume_held() == []

    with time_machine.travel(datetime(2026, 12, 2, 8, 0, 5, tzinfo=SHANGHAI), tick=True):
        assert sending_rules.resume_held() == [campaign.pk]
        dispatch_campaign(campaign.pk)  # what the resume queues on commit
        asyncio.run(run_until(make_gateway(route["connection"]), settled))
    assert sorted(submitted_to()) == numbers
    assert set(statuses().values()) == {"submitted"}


def test_the_daily_quota_holds_api_sends_until_the_next_day(client, route, sending_redis):
    AccountLimits.objects.update_or_create(account=route["app"].account, defaults={"daily_limit": 2})
    numbers = phones(4)
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=SHANGHAI), tick=True):
        accept(client, route, numbers)
        asyncio.run(run_until(make_gateway(route["connection"]), held("quota")))
    assert api_campaign().resume_at == datetime(2026, 12, 2, 0, 0, tzinfo=SHANGHAI)
    assert len(submitted_to()) == 2
    assert sorted(statuses().values()) == ["queued", "queued", "submitted", "submitted"]


def test_the_balance_pays_for_exactly_what_goes_out_and_a_top_up_sends_the_rest(client, route, sending_redis):
    account = route["app"].account
    price = money.price_of(money.category_of("verification"), 1, 0)
    money.correct(account, 2 * price - money.balance(account), "leave two messages' worth")
    numbers = phones(4)
    campaign = accept(client, route, numbers)

    asyncio.run(run_until(make_gateway(route["connection"]), held("balance")))
    assert len(submitted_to()) == 2
    assert Account.objects.get(pk=account.pk).balance == 0

    money.top_up(account, Decimal("10"))
    assert sending_rules.resume_after_top_up(account.pk) == [campaign.pk]
    dispatch_campaign(campaign.pk)
    asyncio.run(run_until(make_gateway(route["connection"]), settled))

    assert sorted(submitted_to()) == numbers  # each once
    assert Account.objects.get(pk=account.pk).balance == Decimal("10") - 2 * price
    assert lifecycle.reconcile(campaign.pk) == {}
