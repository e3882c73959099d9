"""receipts.ingest: receipts are applied straight to their submitted messages and only the ones
that match nothing are stored, so an early receipt still applies once its submit result lands."""

import pytest

from campaigns import gateway, lifecycle, receipts
from campaigns.models import Campaign, Message, PendingReceipt
from campaigns.tasks import plan_campaign
from tests.sending_helpers import counters, create_campaign, create_connection, phones
from tests.test_receipts import Receipt, Result


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Your order ${1} has shipped.")


@pytest.fixture
def connection(db):
    return create_connection()


@pytest.fixture
def campaign(shop, template, connection):
    campaign = create_campaign(shop, template, connection, phones(3), status=Campaign.Status.RUNNING)
    plan_campaign(campaign.pk)
    return campaign


def claim_all(campaign):
    ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    return ids, gateway.claim_messages(campaign.pk, ids)


def test_matched_receipts_are_applied_without_being_stored(campaign, connection):
    ids, attempts = claim_all(campaign)
    gateway.record_results(campaign.pk, [Result(ref=i, message_ids=(f"p{i}",)) for i in ids], attempts)
    received = [Receipt(f"p{ids[0]}"), Receipt(f"p{ids[1]}", "UNDELIV", "005"), Receipt("p-unknown")]
    assert receipts.ingest(connection.pk, received) == (3, 2)
    assert list(PendingReceipt.objects.values_list("provider_id", flat=True)) == ["p-unknown"]
    assert dict(Message.objects.filter(pk__in=ids[:2]).values_list("status", "receipt_stat")) == {
        "delivered": "DELIVRD",
        "failed": "UNDELIV",
    }
    assert counters(campaign)["submitted"] == 1
    assert lifecycle.reconcile(campaign.pk) == {}


def test_intermediate_receipts_are_neither_applied_nor_stored(campaign, connection):
    assert receipts.ingest(connection.pk, [Receipt("a", "ENROUTE"), Receipt("b", "ACCEPTD")]) == (0, 0)
    assert not PendingReceipt.objects.exists()
