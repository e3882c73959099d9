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
from campaigns.tasks import plan_campaign
from smsconsole.models import Account
from tests.sending_helpers import create_campaign, create_connection, phones

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
    lifecycle.record_submits(submitted=[(message_id, f"p{n}") for n, message_id in enumerate(ids)])
    return campaign


def receipts(*pairs):
    return [(provider_id, stat, "001" if stat != "DELIVRD" else "000") for provider_id, stat in pairs]


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
    round_ = receipts(("p0", "DELIVRD"), ("p1", "UNDELIV"), ("p2", "REJECTD"))

    lifecycle.apply_receipts_by_provider_id(handed_over.connection_id, round_)
    # The same round again (a repeated deliver_sm, the pending-receipt sweep) moves nothing.
    lifecycle.apply_receipts_by_provider_id(handed_over.connection_id, round_)
    lifecycle.apply_receipts(
        [(m.pk, "UNDELIV", "001") for m in Message.objects.filter(campaign=handed_over, status="failed")]
    )

    assert refunds(handed_over) == [(4, "reported failed")]  # one entry for the round: 2 messages × 2 segments
    assert balance(handed_over) == Decimal("10") - 8 * PRICE + 4 * PRICE
    assert money.reconcile(handed_over.pk) is None


def test_success_only_refunds_what_expires_without_a_report(handed_over, settings):
    settings.SMS_REFUND_POLICY = "success_only"
    lifecycle.apply_receipts_by_provider_id(handed_over.connection_id, receipts(("p0", "DELIVRD")))
    Campaign.objects.filter(pk=handed_over.pk).update(started_at=timezone.now() - timedelta(days=4))
    Message.objects.filter(campaign=handed_over).update(submitted_at=timezone.now() - timedelta(days=4))

    assert lifecycle.expire() == {handed_over.pk: 3}
    assert lifecycle.expire() == {}

    assert refunds(handed_over) == [(6, "reported failed")]
    assert balance(handed_over) == Decimal("10") - 2 * PRICE
    assert money.reconcile(handed_over.pk) is None


def test_the_platform_policy_keeps_the_carriers_failures_charged(handed_over, settings):
    settings.SMS_REFUND_POLICY = "platform"
    lifecycle.apply_receipts_by_provider_id(
        handed_over.connection_id, receipts(("p0", "DELIVRD"), ("p1", "UNDELIV"), ("p2", "EXPIRED"))
    )

    assert refunds(handed_over) == []
    assert balance(handed_over) == Decimal("10") - 8 * PRICE
    assert money.reconcile(handed_over.pk) is None


def test_a_refund_missed_or_given_twice_fails_the_billing_reconcile(handed_over, settings):
    settings.SMS_REFUND_POLICY = "success_only"
    lifecycle.apply_receipts_by_provider_id(handed_over.connection_id, receipts(("p1", "UNDELIV")))
    money.refund(handed_over.account_id, "notification", 2, handed_over.pk, note="by hand")

    assert money.reconcile(handed_over.pk) == {"counted": 4, "rows": 6}
    with pytest.raises(SystemExit):
        call_command("reconcile_counters", str(handed_over.pk), "--billing", stdout=io.StringIO(), stderr=io.StringIO())
    # Under the other reading the failed message stays charged: the ledger is now two refunds short.
    settings.SMS_REFUND_POLICY = "platform"
    assert money.reconcile(handed_over.pk) == {"counted": 4, "rows": 8}


def test_the_billing_reconcile_passes_when_the_ledger_equals_the_messages(handed_over, settings):
    settings.SMS_REFUND_POLICY = "success_only"
    lifecycle.apply_receipts_by_provider_id(handed_over.connection_id, receipts(("p3", "UNDELIV")))
    out = io.StringIO()
    call_command("reconcile_counters", str(handed_over.pk), "--billing", stdout=out)
    assert "every counter equals its rows" in out.getvalue()


def test_a_system_accounts_failures_are_not_refunded(handed_over, settings):
    settings.SMS_REFUND_POLICY = "success_only"
    Account.objects.filter(pk=handed_over.account_id).update(is_system=True)
    lifecycle.apply_receipts_by_provider_id(handed_over.connection_id, receipts(("p1", "UNDELIV")))
    assert refunds(handed_over) == []
