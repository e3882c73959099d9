"""Delivery receipts (campaigns.receipts): ingest applies the ones that match a submitted message
at once and stores the rest, which apply_pending matches again after later submit results."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from campaigns import gateway, lifecycle, receipts
from campaigns.models import Batch, Campaign, Message, PendingReceipt
from campaigns.tasks import plan_campaign, purge_stale_receipts
from tests.sending_helpers import (  # noqa: F401 (fixtures)
    counters,
    create_campaign,
    create_connection,
    phones,
    planned_campaign,
    rows_by_status,
    sending_redis,
    shipped_template,
    simulator_connection,
)


@dataclass
class Receipt:
    message_id: str
    stat: str = "DELIVRD"
    err: str = "000"


@dataclass
class Result:
    ref: int
    ok: bool = True
    message_ids: tuple = ()
    command_status: int = 0
    error: str = ""
    permanent: bool = False
    ambiguous: bool = False
    segments: int = 1


@pytest.fixture
def campaign(shop, shipped_template, simulator_connection):
    return planned_campaign(shop, shipped_template, simulator_connection, 4)


def send(campaign, provider_ids):
    """Claims the campaign's messages and records them submitted with these provider ids."""
    batch = Batch.objects.get(campaign=campaign)
    ids = [m for m, *_ in gateway.queued_messages(batch)]
    attempts = gateway.claim_messages(campaign.pk, ids)
    results = [Result(ref=i, message_ids=(pid,)) for i, pid in zip(ids, provider_ids)]
    gateway.record_results(campaign.pk, results, attempts)
    return ids


def test_receipts_move_messages_and_counters_by_their_stat(campaign, simulator_connection):
    send(campaign, ["a", "b", "c", "d"])
    received = [
        Receipt("a"), Receipt("b", "UNDELIV", "012"), Receipt("c", "EXPIRED", "000"), Receipt("d", "REJECTD", "099")
    ]  # fmt: skip

    assert receipts.ingest(simulator_connection.pk, received) == (4, 4)

    rows = dict(Message.objects.filter(campaign=campaign).values_list("provider_id", "status"))
    assert rows == {"a": "delivered", "b": "failed", "c": "expired", "d": "failed"}
    assert dict(
        Message.objects.filter(campaign=campaign, status="failed").values_list("provider_id", "error_code")
    ) == {"b": "012", "d": "099"}
    assert Message.objects.filter(campaign=campaign, done_at__isnull=True).count() == 0
    assert counters(campaign) == {
        "total": 4,
        "queued": 0,
        "sending": 0,
        "submitted": 0,
        "delivered": 1,
        "failed": 2,
        "expired": 1,
        "unknown": 0,
        "skipped": 0,
        "cancelled": 0,
    }
    assert not PendingReceipt.objects.exists()


def test_matched_receipts_are_applied_without_being_stored(campaign, simulator_connection):
    ids = send(campaign, ["a", "b", "c", "d"])
    received = [Receipt("a"), Receipt("b", "UNDELIV", "005"), Receipt("p-unknown")]

    assert receipts.ingest(simulator_connection.pk, received) == (3, 2)

    assert list(PendingReceipt.objects.values_list("provider_id", flat=True)) == ["p-unknown"]
    assert dict(Message.objects.filter(pk__in=ids[:2]).values_list("status", "receipt_stat")) == {
        "delivered": "DELIVRD",
        "failed": "UNDELIV",
    }
    assert counters(campaign)["submitted"] == 2
    assert lifecycle.reconcile(campaign.pk) == {}


def test_a_receipt_that_arrives_before_the_submit_result_is_applied_after_it(campaign, simulator_connection):
    batch = Batch.objects.get(campaign=campaign)
    ids = [m for m, *_ in gateway.queued_messages(batch)]
    attempts = gateway.claim_messages(campaign.pk, ids)
    assert receipts.ingest(simulator_connection.pk, [Receipt("early")]) == (1, 0)

    assert receipts.apply_pending(simulator_connection.pk) == 0  # the message is still SENDING, no provider id
    assert PendingReceipt.objects.count() == 1

    gateway.record_results(campaign.pk, [Result(ref=ids[0], message_ids=("early",))], attempts)
    assert receipts.apply_pending(simulator_connection.pk) == 1

    assert Message.objects.get(pk=ids[0]).status == "delivered"
    assert counters(campaign)["delivered"] == 1
    assert counters(campaign)["submitted"] == 0
    assert not PendingReceipt.objects.exists()


def test_a_duplicate_receipt_moves_nothing_twice_and_is_dropped_after_a_while(campaign, simulator_connection):
    send(campaign, ["a", "b", "c", "d"])
    assert receipts.ingest(simulator_connection.pk, [Receipt("a")]) == (1, 1)
    assert receipts.ingest(simulator_connection.pk, [Receipt("a", "UNDELIV")]) == (1, 0)

    assert receipts.apply_pending(simulator_connection.pk) == 0
    assert PendingReceipt.objects.count() == 1  # kept a while, in case a newer message takes the id
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert receipts.apply_pending(simulator_connection.pk) == 0

    assert Message.objects.get(provider_id="a").status == "delivered"
    assert counters(campaign)["delivered"] == 1 and counters(campaign)["failed"] == 0
    assert not PendingReceipt.objects.exists()


def test_a_reused_provider_id_matches_the_submitted_message_not_the_finished_one(
    shop, shipped_template, simulator_connection
):
    old = create_campaign(
        shop, shipped_template, simulator_connection, phones(1), status=Campaign.Status.RUNNING, name="old"
    )
    plan_campaign(old.pk)
    send(old, ["7f59"])
    assert receipts.ingest(simulator_connection.pk, [Receipt("7f59")]) == (1, 1)
    new = create_campaign(
        shop, shipped_template, simulator_connection, phones(1, start=1), status=Campaign.Status.RUNNING, name="new"
    )
    plan_campaign(new.pk)
    batch = Batch.objects.get(campaign=new)
    ids = [m for m, *_ in gateway.queued_messages(batch)]
    attempts = gateway.claim_messages(new.pk, ids)
    # The SMSC restarted and counts from the same number; its receipt comes before the result.
    assert receipts.ingest(simulator_connection.pk, [Receipt("7f59", "UNDELIV", "005")]) == (1, 0)
    assert receipts.apply_pending(simulator_connection.pk) == 0
    gateway.record_results(new.pk, [Result(ref=ids[0], message_ids=("7f59",))], attempts)

    assert receipts.apply_pending(simulator_connection.pk) == 1

    assert Message.objects.get(campaign=new).status == "failed"
    assert Message.objects.get(campaign=old).status == "delivered"
    assert counters(new)["failed"] == 1 and counters(old)["failed"] == 0


def test_receipts_of_another_connection_do_not_match(campaign, simulator_connection):
    other = create_connection("other", port=2776)
    send(campaign, ["a", "b", "c", "d"])
    assert receipts.ingest(other.pk, [Receipt("a")]) == (1, 0)
    assert receipts.apply_pending(other.pk) == 0
    assert receipts.apply_pending(simulator_connection.pk) == 0
    assert Message.objects.get(provider_id="a").status == "submitted"


def test_intermediate_receipts_are_neither_applied_nor_stored(campaign, simulator_connection):
    received = [Receipt("a", "ENROUTE"), Receipt("b", "ACCEPTD"), Receipt("", "DELIVRD")]  # no id: nothing to match
    assert receipts.ingest(simulator_connection.pk, received) == (0, 0)
    assert not PendingReceipt.objects.exists()


def test_receipts_whose_message_never_appears_are_purged_after_72_hours(simulator_connection, sending_redis):
    assert receipts.ingest(simulator_connection.pk, [Receipt("lost")]) == (1, 0)
    assert purge_stale_receipts() == {"purged": 0}
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        assert purge_stale_receipts() == {"purged": 1}


def test_many_receipts_are_applied_in_chunks(monkeypatch, shop, shipped_template, simulator_connection):
    monkeypatch.setattr(receipts, "APPLY_CHUNK", 3)
    campaign = create_campaign(shop, shipped_template, simulator_connection, phones(10), status=Campaign.Status.RUNNING)
    plan_campaign(campaign.pk)
    provider_ids = [f"p{n}" for n in range(10)]
    ids = [m for m, *_ in gateway.queued_messages(Batch.objects.get(campaign=campaign))]
    attempts = gateway.claim_messages(campaign.pk, ids)
    # Every receipt before its submit result: all are stored, and applied once the results land.
    assert receipts.ingest(simulator_connection.pk, [Receipt(p) for p in provider_ids]) == (10, 0)
    gateway.record_results(campaign.pk, [Result(ref=i, message_ids=(p,)) for i, p in zip(ids, provider_ids)], attempts)

    assert receipts.apply_pending(simulator_connection.pk) == 10
    assert rows_by_status(campaign)["delivered"] == 10
    assert counters(campaign)["delivered"] == 10
