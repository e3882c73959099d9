"""Refunds of carrier-reported outcomes (SMS_REFUND_POLICY, cloud-sms-spec.md 4.3): under
"success_only" a message its receipt (or the 72-hour expiry) ends failed or expired gets its
segments back once; under "platform" only what the platform refused at the hand-over does.

The lifecycle moves the rows (campaigns.lifecycle) and hands the moved segments to
campaigns.money.refund_reported in the same transaction; the charge here is the claim's
(sending_rules.claim charges right after lifecycle.claim), without the gateway."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns import lifecycle, money
from campaigns.models import Campaign, LedgerEntry, Message, Recipient
from campaigns.receipts import apply_pending
from campaigns.receipts import ingest as ingest_receipts
from campaigns.tasks import plan_campaign
from smsconsole.models import Account
from tests.sending_helpers import create_campaign, create_connection, phones
from tests.test_receipts import Receipt, Result

PRICE = Decimal("0.065")


@pytest.fixture
def handed_over(factories, shop, settings):
    """A running campaign of four two-segment messages, charged and submitted as the gateway would."""
    settings.SMS_BATCH_SIZE = 1000
    template = factories.create_template(shop, content="Your code is ${1}.")
    campaign = create_campaign(shop, template, create_connection(), phones(4), status="running", funded=False)
    Recipient.objects.filter(recipient_import=campaign.recipient_import).update(segments=2)
    money.top_up(shop.account, Decimal("10"))
    plan_campaign(campaign.pk)
    ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    assert lifecycle.claim(campaign.pk, ids)
    money.charge(shop.account_id, "notification", 8, campaign_id=campaign.pk)
    # Each segment has its provider id and receipt (campaigns.models.MessagePart): p<n>-1, p<n>-2.
    lifecycle.record_submits(submitted=[(message_id, (f"p{n}-1", f"p{n}-2")) for n, message_id in enumerate(ids)])
    return campaign


def receipts(*pairs):
    """Receipts for both segments of each (message number, stat)."""
    return [
        Receipt(f"p{n}-{part}", stat, "001" if stat != "DELIVRD" else "000") for n, stat in pairs for part in (1, 2)
    ]


def ingest(campaign, round_):
    return ingest_receipts(campaign.connection_id, round_)


def balance(campaign):
    return Account.objects.get(pk=campaign.account_id).balance


def refunds(campaign):
    return list(
        LedgerEntry.objects.filter(campaign=campaign, kind=LedgerEntry.Kind.REFUND)
        .order_by("id")
        .values_list("segments", "note")
    )


def test_success_only_refunds_what_the_receipts_report_failed_once(handed_over, settings):
    settings.SMS_REFUND_POLICY = "success_only"
    round_ = receipts((0, "DELIVRD"), (1, "UNDELIV"), (2, "REJECTD"))

    ingest(handed_over, round_)
    # The same round again (a repeated deliver_sm, the pending-receipt sweep) moves nothing.
    ingest(handed_over, round_)
    apply_pending(handed_over.connection_id)
    lifecycle.apply_receipts(
        [(m.pk, "UNDELIV", "001") for m in Message.objects.filter(campaign=handed_over, status="failed")]
    )

    assert refunds(handed_over) == [(4, "reported failed")]  # one entry for the round: 2 messages × 2 segments
    assert balance(handed_over) == Decimal("10") - 8 * PRICE + 4 * PRICE
    assert money.reconcile(handed_over.pk) is None


def test_success_only_refunds_what_expires_without_a_report(handed_over, settings):
    settings.SMS_REFUND_POLICY = "success_only"
    ingest(handed_over, receipts((0, "DELIVRD")))
    Campaign.objects.filter(pk=handed_over.pk).update(started_at=timezone.now() - timedelta(days=4))
    Message.objects.filter(campaign=handed_over).update(submitted_at=timezone.now() - timedelta(days=4))

    assert lifecycle.expire() == {handed_over.pk: 3}
    assert lifecycle.expire() == {}

    assert refunds(handed_over) == [(6, "reported failed")]
    assert balance(handed_over) == Decimal("10") - 2 * PRICE
    assert money.reconcile(handed_over.pk) is None


def test_the_platform_policy_keeps_the_carriers_failures_charged(handed_over, settings):
    settings.SMS_REFUND_POLICY = "platform"
    ingest(handed_over, receipts((0, "DELIVRD"), (1, "UNDELIV"), (2, "EXPIRED")))

    assert refunds(handed_over) == []
    assert balance(handed_over) == Decimal("10") - 8 * PRICE
    assert money.reconcile(handed_over.pk) is None


def test_a_refund_missed_or_given_twice_fails_the_billing_reconcile(handed_over, settings):
    settings.SMS_REFUND_POLICY = "success_only"
    ingest(handed_over, receipts((1, "UNDELIV")))
    money.refund(handed_over.account_id, "notification", 2, handed_over.pk, note="by hand")

    assert money.reconcile(handed_over.pk) == {"counted": 4, "rows": 6}
    with pytest.raises(SystemExit):
        call_command("reconcile_counters", str(handed_over.pk), "--billing", stdout=io.StringIO(), stderr=io.StringIO())
    # Under the other reading the failed message stays charged: the ledger is now two refunds short.
    settings.SMS_REFUND_POLICY = "platform"
    assert money.reconcile(handed_over.pk) == {"counted": 4, "rows": 8}


def test_the_billing_reconcile_passes_when_the_ledger_equals_the_messages(handed_over, settings):
    settings.SMS_REFUND_POLICY = "success_only"
    ingest(handed_over, receipts((3, "UNDELIV")))
    out = io.StringIO()
    call_command("reconcile_counters", str(handed_over.pk), "--billing", stdout=out)
    assert "every counter equals its rows" in out.getvalue()


def test_a_system_accounts_failures_are_not_refunded(handed_over, settings):
    settings.SMS_REFUND_POLICY = "success_only"
    Account.objects.filter(pk=handed_over.account_id).update(is_system=True)
    ingest(handed_over, receipts((1, "UNDELIV")))
    assert refunds(handed_over) == []


def test_a_long_message_failed_by_one_segment_is_refunded_all_its_segments_once(factories, shop, settings):
    from campaigns import gateway, receipts
    from tests.test_segment_receipts import LONG

    settings.SMS_REFUND_POLICY = "success_only"
    template = factories.create_template(shop, content=LONG, variables=[])
    campaign = create_campaign(shop, template, create_connection(), phones(2), status="running", funded=False)
    money.top_up(shop.account, Decimal("10"))
    plan_campaign(campaign.pk)
    ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    attempts = gateway.claim_messages(campaign.pk, ids)
    money.charge(shop.account_id, "notification", 6, campaign_id=campaign.pk)
    gateway.record_results(
        campaign.pk, [Result(ref=i, message_ids=tuple(f"m{i}-{n}" for n in (1, 2, 3))) for i in ids], attempts
    )
    a, b = ids

    receipts.ingest(campaign.connection_id, [Receipt(f"m{a}-1"), Receipt(f"m{a}-2", "UNDELIV", "012")])
    receipts.ingest(campaign.connection_id, [Receipt(f"m{a}-3", "UNDELIV", "012"), Receipt(f"m{a}-2", "UNDELIV")])
    receipts.ingest(campaign.connection_id, [Receipt(f"m{b}-{n}") for n in (1, 2, 3)])

    assert dict(Message.objects.filter(campaign=campaign).values_list("id", "status")) == {a: "failed", b: "delivered"}
    assert refunds(campaign) == [(3, "reported failed")]
    assert balance(campaign) == Decimal("10") - 3 * PRICE
    assert money.reconcile(campaign.pk) is None


def test_the_refund_of_a_round_costs_the_same_queries_however_many_messages_failed(handed_over, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.SMS_REFUND_POLICY = "success_only"
    with CaptureQueriesContext(connection) as one:
        ingest(handed_over, receipts((0, "UNDELIV")))
    with CaptureQueriesContext(connection) as three:
        ingest(handed_over, receipts((1, "UNDELIV"), (2, "UNDELIV"), (3, "UNDELIV")))
    assert refunds(handed_over) == [(2, "reported failed"), (6, "reported failed")]
    assert len(three.captured_queries) == len(one.captured_queries)
