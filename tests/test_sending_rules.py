"""The send-time rules (campaigns.sending_rules) on the gateway's real path: FakeClient for the SMSC,
the ORM inline (tests/test_gateway.py), real Redis for the caps, time-machine for the clock."""

import asyncio
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from campaigns import frequency, lifecycle, money, quotas, sending_rules
from campaigns.models import Campaign, LedgerEntry, Message, OptOut
from campaigns.models.limits import AccountLimits
from campaigns.tasks import dispatch_campaign, plan_campaign
from sms.smpp.client import SubmitResult
from smsconsole.models import Account
from tests.sending_helpers import (
    counters,
    create_campaign,
    create_connection,
    phones,
    rows_by_status,
    sending_redis,  # noqa: F401 (fixture)
)
from tests.test_gateway import FakeClient, make_gateway, run_until

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _fresh_clients():
    FakeClient.instances = []


@pytest.fixture
def connection(db):
    return create_connection(window=32, max_binds=1)


def start(shop, template, connection, rows, settings, funded=True):
    settings.SMS_BATCH_SIZE = 1000
    campaign = create_campaign(shop, template, connection, rows, status=Campaign.Status.RUNNING, funded=funded)
    plan_campaign(campaign.pk)
    dispatch_campaign(campaign.pk)
    return campaign


def handed_back(campaign):
    """Held, and its batches back with the engine (the gateway saw the pause before its next chunk)."""
    return lambda: fetch(campaign).status == "paused" and not campaign.batches.filter(status="pushed").exists()


def fetch(campaign):
    return Campaign.objects.with_counters().get(pk=campaign.pk)


def skipped(campaign):
    return dict(
        Message.objects.filter(campaign=campaign, status="skipped").values_list("phone", "skip_reason").order_by()
    )


def submitted_to():
    return [request.destination for client in FakeClient.instances for request in client.submitted]


def settled(campaign):
    def done():
        c = fetch(campaign)
        return c.status != "running" or (c.queued == 0 and c.sending == 0)

    return done


def test_a_number_opted_out_after_planning_is_skipped_at_send(factories, shop, connection, settings, sending_redis):
    template = factories.create_template(shop, content="Order shipped.")
    campaign = start(shop, template, connection, phones(4), settings)
    OptOut.objects.create(account=shop.account, phone=phones(4)[2])

    asyncio.run(run_until(make_gateway(connection), lambda: fetch(campaign).status == "completed"))

    assert skipped(campaign) == {phones(4)[2]: "opt_out"}
    assert sorted(submitted_to()) == [phones(4)[0], phones(4)[1], phones(4)[3]]
    assert counters(campaign)["submitted"] == 3 and counters(campaign)["skipped"] == 1
    assert lifecycle.reconcile(campaign.pk) == {}


def test_a_message_over_its_frequency_cap_is_skipped_not_delayed(factories, shop, connection, settings, sending_redis):
    template = factories.create_template(shop, content="Order shipped.")
    campaign = start(shop, template, connection, phones(3), settings)
    # Another campaign reached the first number 10 times this minute (the notification cap).
    caps = frequency.FrequencyCaps.for_account(shop.account_id)
    assert all(caps.admit([(f"other{n}", phones(1)[0], "notification", f"text {n}") for n in range(10)]))

    asyncio.run(run_until(make_gateway(connection), lambda: fetch(campaign).status == "completed"))

    assert skipped(campaign) == {phones(1)[0]: "frequency_cap"}
    assert sorted(submitted_to()) == phones(3)[1:]
    assert lifecycle.reconcile(campaign.pk) == {}


def test_a_promotion_at_23_00_is_held_until_08_00_and_then_sent(factories, shop, connection, settings, sending_redis):
    signature = factories.create_signature(shop, name="Sale", type="promotion")
    template = factories.create_template(shop, signature=signature, type="promotion", content="Sale! Reply R to stop")
    with time_machine.travel(datetime(2026, 12, 1, 23, 0, tzinfo=SHANGHAI), tick=True):
        campaign = start(shop, template, connection, phones(3), settings)
        asyncio.run(run_until(make_gateway(connection), handed_back(campaign)))
        held = fetch(campaign)
        assert held.pause_reason == "quiet_hours"
        assert held.resume_at == datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
        assert submitted_to() == [] and counters(campaign)["queued"] == 3
        assert sending_rules.resume_held() == []  # still night

    with time_machine.travel(datetime(2026, 12, 2, 8, 0, 5, tzinfo=SHANGHAI), tick=True):
        assert sending_rules.resume_held() == [campaign.pk]
        dispatch_campaign(campaign.pk)  # what resume queued on commit
        asyncio.run(run_until(make_gateway(connection), lambda: fetch(campaign).status == "completed"))
    assert sorted(submitted_to()) == phones(3)
    assert fetch(campaign).resume_at is None and fetch(campaign).pause_reason == ""


def test_the_daily_quota_holds_the_campaign_until_the_next_day(factories, shop, connection, settings, sending_redis):
    template = factories.create_template(shop, content="Order shipped.")
    AccountLimits.objects.update_or_create(account=shop.account, defaults={"daily_limit": 2})
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=SHANGHAI), tick=True):
        campaign = start(shop, template, connection, phones(5), settings)
        asyncio.run(run_until(make_gateway(connection), handed_back(campaign)))
    held = fetch(campaign)
    assert (held.pause_reason, held.resume_at) == ("quota", datetime(2026, 12, 2, 0, 0, tzinfo=SHANGHAI))
    assert len(submitted_to()) == 2 and counters(campaign)["queued"] == 3


def test_the_balance_pays_for_exactly_what_goes_out_and_a_top_up_sends_the_rest(
    factories, shop, connection, settings, sending_redis
):
    template = factories.create_template(shop, content="Order shipped.")
    campaign = start(shop, template, connection, phones(5), settings, funded=False)
    money.top_up(shop.account, Decimal("0.195"))  # three segments at 0.065

    asyncio.run(run_until(make_gateway(connection), handed_back(campaign)))
    held = fetch(campaign)
    assert held.pause_reason == "balance" and held.queued == 2
    assert submitted_to() == phones(3)
    assert Account.objects.get(pk=shop.account_id).balance == 0

    money.top_up(shop.account, Decimal("10"))  # resumes it once committed (test transaction: by hand)
    assert sending_rules.resume_after_top_up(shop.account_id) == [campaign.pk]
    dispatch_campaign(campaign.pk)
    asyncio.run(run_until(make_gateway(connection), lambda: fetch(campaign).status == "completed"))

    assert sorted(submitted_to()) == phones(5)  # each once
    charged = LedgerEntry.objects.filter(account=shop.account, kind=LedgerEntry.Kind.CHARGE)
    assert sum(entry.segments for entry in charged) == 5
    assert Account.objects.get(pk=shop.account_id).balance == Decimal("10.195") - Decimal("0.325")
    assert lifecycle.reconcile(campaign.pk) == {}


def test_a_message_refused_at_submit_is_refunded(factories, shop, connection, settings, sending_redis):
    template = factories.create_template(shop, content="Order shipped.")
    campaign = start(shop, template, connection, phones(3), settings, funded=False)
    money.top_up(shop.account, Decimal("1"))

    def refuse_second(request, number):
        if number == 2:
            return SubmitResult(request.ref, False, (), 0x0B, "invalid destination", True, False, 1)
        return None

    asyncio.run(
        run_until(make_gateway(connection, answer=refuse_second), lambda: fetch(campaign).status == "completed")
    )

    assert (rows_by_status(campaign)["submitted"], rows_by_status(campaign)["failed"]) == (2, 1)
    refunds = LedgerEntry.objects.filter(account=shop.account, kind=LedgerEntry.Kind.REFUND)
    assert [entry.segments for entry in refunds] == [1]
    assert Account.objects.get(pk=shop.account_id).balance == Decimal("1") - 2 * Decimal("0.065")


@pytest.mark.parametrize(
    ("language", "why", "when"),
    [
        ("en", "promotion hours", "It resumes by itself at 2026-12-02 08:00"),
        ("zh-hans", "推广短信发送时段", "将于 2026-12-02 08:00 自动恢复发送"),
    ],
)
def test_the_campaign_page_says_why_it_waits_and_when_it_resumes(
    alice_client, factories, shop, connection, settings, language, why, when
):
    template = factories.create_template(shop, content="Order shipped.")
    campaign = create_campaign(shop, template, connection, phones(2), status=Campaign.Status.RUNNING)
    assert Campaign.hold(campaign.pk, Campaign.PauseReason.QUIET_HOURS, datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI))
    alice_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    page = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content.decode()

    assert 'id="campaign-held"' in page and why in page and when in page


def test_the_campaign_page_says_a_top_up_resumes_a_campaign_held_for_its_balance(
    alice_client, factories, shop, connection
):
    template = factories.create_template(shop, content="Order shipped.")
    campaign = create_campaign(shop, template, connection, phones(2), status=Campaign.Status.RUNNING)
    assert Campaign.hold(campaign.pk, Campaign.PauseReason.BALANCE)

    page = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content.decode()

    assert "insufficient balance" in page and "It resumes by itself after a top-up" in page


def test_a_claim_that_fails_gives_its_quota_back(factories, shop, connection, settings, sending_redis, monkeypatch):
    """A database error in the claim (after the quota was reserved) leaves the quota as it was."""

    template = factories.create_template(shop, content="Order shipped.")
    AccountLimits.objects.update_or_create(account=shop.account, defaults={"daily_limit": 10})
    campaign = start(shop, template, connection, phones(3), settings)
    chunk = list(campaign.messages.order_by("id").values_list("id", "phone", "variables", "segments"))
    before = quotas.room(shop.account_id)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(lifecycle, "claim", broken)
    with pytest.raises(RuntimeError):
        sending_rules.claim(campaign.pk, chunk)
    assert before == 10 and quotas.room(shop.account_id) == before
    assert counters(campaign)["queued"] == 3


def test_messages_the_quota_holds_back_leave_no_frequency_cap_record(
    factories, shop, connection, settings, sending_redis
):
    """The caps are checked and recorded in one call before the quota; what the quota then keeps
    queued is withdrawn, so an unsent message never counts against its number."""
    template = factories.create_template(shop, content="Order shipped.")
    AccountLimits.objects.update_or_create(account=shop.account, defaults={"daily_limit": 2})
    campaign = start(shop, template, connection, phones(4), settings)
    chunk = list(campaign.messages.order_by("id").values_list("id", "phone", "variables", "segments"))

    verdict = sending_rules.claim(campaign.pk, chunk)

    assert sorted(verdict.attempts) == [chunk[0][0], chunk[1][0]] and verdict.hold == "quota"
    caps = frequency.FrequencyCaps.for_account(shop.account_id)
    # Ten other messages this minute fill the notification cap (10 a minute) only where nothing of
    # this campaign is recorded: the two sent numbers take nine more, the two held back ten.
    others = [(f"o{n}-{phone}", phone, "notification", f"other {n}") for phone in phones(4) for n in range(10)]
    admitted = caps.admit(others)
    per_number = [sum(admitted[n * 10 : n * 10 + 10]) for n in range(4)]
    assert per_number == [9, 9, 10, 10]


def test_a_claim_that_fails_leaves_no_frequency_cap_record(
    factories, shop, connection, settings, sending_redis, monkeypatch
):
    template = factories.create_template(shop, content="Order shipped.")
    campaign = start(shop, template, connection, phones(2), settings)
    chunk = list(campaign.messages.order_by("id").values_list("id", "phone", "variables", "segments"))

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(lifecycle, "claim", broken)
    with pytest.raises(RuntimeError):
        sending_rules.claim(campaign.pk, chunk)

    caps = frequency.FrequencyCaps.for_account(shop.account_id)
    assert caps.admit([(f"o{n}", phones(1)[0], "notification", f"other {n}") for n in range(10)]) == [True] * 10


def test_the_gateways_claim_reads_its_campaign_in_one_query(factories, shop, connection, settings, sending_redis):
    """With the template's pieces in hand (as the gateway claims) the campaign is read with only the
    columns the rules use; none of them is loaded later by a query of its own, and the rules still
    see the account's limits (the daily quota of 10 is used by 3)."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from campaigns import planning

    template = factories.create_template(shop, content="Order shipped.")
    AccountLimits.objects.update_or_create(account=shop.account, defaults={"daily_limit": 10})
    campaign = start(shop, template, connection, phones(3), settings)
    chunk = list(campaign.messages.order_by("id").values_list("id", "phone", "variables", "segments"))
    pieces = planning.campaign_text(Campaign.objects.get(pk=campaign.pk))

    with CaptureQueriesContext(db) as queries:
        verdict = sending_rules.claim(campaign.pk, chunk, pieces)

    assert sorted(verdict.attempts) == [row[0] for row in chunk] and not verdict.hold
    assert quotas.room(shop.account_id) == 7
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    campaign_reads = [sql for sql in reads if 'FROM "campaigns_campaign"' in sql]
    assert len(campaign_reads) == 1 and '"campaigns_campaign"."name"' not in campaign_reads[0]
    # A deferred column would be loaded by a query of its own (the charge's lock selects the pk only).
    used = ('"smsconsole_account"."balance"', '"smsconsole_account"."timezone"', '"smsconsole_account"."is_system"')
    # A balance that covers the chunk at the dearest price reads no month volume before the charge.
    separate = ('FROM "campaigns_accountlimits"', 'FROM "templates_app_template"', 'FROM "campaigns_monthlyvolume"')
    extra = [sql for sql in reads[1:] if any(column in sql for column in used + separate)]
    assert not extra, "\n".join(extra)
