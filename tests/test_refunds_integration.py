"""Refunds with real processes: the SMSC simulator refusing a share of submits and reporting a share
of the rest UNDELIV, a Celery worker and the gateway (tests/test_sending_integration.py). Whatever
the policy, the balance ends at exactly the top-up less the segments it leaves charged × price:
under "platform" the delivered, unknown and carrier-failed ones; under "success_only" the
delivered and unknown ones. Replaying the receipts afterwards refunds nothing more."""

from decimal import Decimal

import pytest
from django.db.models import Q, Sum

from campaigns import lifecycle, money, receipts
from campaigns.models import Campaign, LedgerEntry, Message
from smsconsole.models import Account
from tests.sending_helpers import (
    create_campaign,
    create_connection,
    phones,
    rows_by_status,
    sending_redis,  # noqa: F401 (fixture)
    simulator,
    wait_for,
    worker_and_gateway,
)

RECIPIENTS = 80
PRICE = Decimal("0.065")  # the industry price of a segment in the first monthly tier
TOP_UP = Decimal("100")


def segments(campaign, *statuses, **filters):
    found = Message.objects.filter(campaign=campaign, status__in=statuses, **filters)
    return found.aggregate(n=Sum("segments"))["n"] or 0


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("policy", ["platform", "success_only"])
def test_the_balance_ends_at_what_the_policy_leaves_charged(
    postgres_url, redis_url, sending_redis, tmp_path, factories, shop, settings, policy
):
    settings.SMS_REFUND_POLICY = policy
    # Three segments a message (【Acme】 makes it UCS-2: 195 characters, 67 a segment): refunds give
    # back each message's segments.
    template = factories.create_template(shop, content="Your parcel is on its way. " * 7)
    options = ("--failure-ratio", "0.3", "--error-ratio", "0.1", "--seed", "11", "--dlr-delay", "0.05")
    with simulator(tmp_path, *options) as smsc:
        connection = create_connection(port=smsc.port, max_binds=1)
        campaign = create_campaign(shop, template, connection, phones(RECIPIENTS), funded=False)
        money.top_up(shop.account, TOP_UP)
        with worker_and_gateway(
            postgres_url, redis_url, tmp_path, smsc, funded=False, SMS_REFUND_POLICY=policy
        ) as processes:
            campaign.launch()

            def finished():
                row = Campaign.objects.get(pk=campaign.pk)
                return row.status == "completed" and row.submitted == 0 and row.sending == 0

            wait_for(finished, 90, "every message to reach its final state", processes)
            stats = smsc.stats()

    rows = rows_by_status(campaign)
    carrier_failed = segments(campaign, "failed", "expired", provider_id__isnull=False)
    refused = Message.objects.filter(campaign=campaign, status="failed", provider_id__isnull=True).count()
    # The simulator did both kinds of failure, or the test proves nothing.
    assert carrier_failed > 0 and refused > 0 and rows["delivered"] > 0
    assert stats["duplicate_submits"] == 0
    assert set(Message.objects.filter(campaign=campaign).values_list("segments", flat=True)) == {3}

    kept = segments(campaign, "delivered", "unknown") + (carrier_failed if policy == "platform" else 0)
    assert Account.objects.get(pk=shop.account_id).balance == TOP_UP - PRICE * kept
    ledger = LedgerEntry.objects.filter(campaign=campaign)
    charged = ledger.aggregate(n=Sum("segments", filter=Q(kind="charge")))["n"]
    refunded = ledger.aggregate(n=Sum("segments", filter=Q(kind="refund")))["n"] or 0
    assert charged - refunded == kept
    assert money.reconcile(campaign.pk) is None and lifecycle.reconcile(campaign.pk) == {}

    # The receipts once more, as a reconnecting SMSC would repeat them: nothing moves, nothing refunded.
    before = Account.objects.get(pk=shop.account_id).balance
    again = [
        (m.provider_id, "UNDELIV", "001") for m in Message.objects.filter(campaign=campaign).exclude(provider_id=None)
    ]
    assert receipts.ingest(connection.pk, [_Receipt(*item) for item in again]) == (len(again), 0)
    receipts.apply_pending(connection.pk)
    assert Account.objects.get(pk=shop.account_id).balance == before
    assert money.reconcile(campaign.pk) is None


class _Receipt:
    def __init__(self, message_id, stat, err):
        self.message_id, self.stat, self.err = message_id, stat, err
