"""Receipts of long messages: every segment has its own provider id and receipt; the message is
delivered when all its segments are, failed as soon as one fails (with that segment's code),
expired when one expired and none failed. Receipts come in any order, before the submit result of
their message, or twice; single-segment messages never touch the parts."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import gateway, lifecycle, privacy, receipts
from campaigns.models import Campaign, Message, MessagePart, PendingReceipt
from campaigns.tasks import plan_campaign
from tests.sending_helpers import counters, create_campaign, create_connection, phones
from tests.test_receipts import Receipt, Result

# 160 characters of Chinese text: UCS-2, with the signature three segments of 67.
LONG = "您的订单已经发货，请留意查收。" * 10 + "谢谢惠顾！祝您生活愉快。"


@pytest.fixture
def connection(db):
    return create_connection()


@pytest.fixture
def long_template(factories, shop):
    return factories.create_template(shop, content=LONG, variables=[])


@pytest.fixture
def campaign(shop, long_template, connection):
    campaign = create_campaign(shop, long_template, connection, phones(3), status=Campaign.Status.RUNNING)
    plan_campaign(campaign.pk)
    return campaign


def claim(campaign):
    ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    return ids, gateway.claim_messages(campaign.pk, ids)


def submit(campaign, segments=3):
    """Claims and records every message submitted in `segments` parts with ids m<id>-<part>."""
    ids, attempts = claim(campaign)
    results = [Result(ref=i, message_ids=tuple(f"m{i}-{n}" for n in range(1, segments + 1))) for i in ids]
    gateway.record_results(campaign.pk, results, attempts)
    return ids


def message(pk):
    return Message.objects.get(pk=pk)


def test_the_fixture_message_is_three_segments_long(campaign):
    assert set(Message.objects.filter(campaign=campaign).values_list("segments", flat=True)) == {3}


# --- the outcome rule, alone ---------------------------------------------------------------------


def test_all_segments_delivered_is_delivered():
    parts = [(1, "DELIVRD", "000"), (2, "DELIVRD", "000"), (3, "DELIVRD", "000")]
    assert lifecycle.parts_outcome(parts) == ("DELIVRD", "")


def test_a_failed_segment_fails_the_message_at_once_with_its_code():
    assert lifecycle.parts_outcome([(1, "", ""), (2, "UNDELIV", "012"), (3, "", "")]) == ("UNDELIV", "012")
    # The lowest-numbered failing segment gives the code, whatever order they are listed in.
    assert lifecycle.parts_outcome([(3, "REJECTD", "099"), (2, "UNDELIV", "012")]) == ("UNDELIV", "012")
    # A failure beats an expiry.
    assert lifecycle.parts_outcome([(1, "EXPIRED", "000"), (2, "UNDELIV", "005")]) == ("UNDELIV", "005")


def test_an_expired_segment_and_no_failed_one_is_expired_once_all_answered():
    assert lifecycle.parts_outcome([(1, "DELIVRD", "000"), (2, "EXPIRED", "007"), (3, "", "")]) is None
    assert lifecycle.parts_outcome([(1, "DELIVRD", "000"), (2, "EXPIRED", "007"), (3, "DELIVRD", "")]) == (
        "EXPIRED",
        "007",
    )


def test_a_segment_of_unknown_fate_makes_the_message_unknown_not_delivered_once_all_answered():
    parts = [(1, "DELIVRD", "000"), (2, "UNKNOWN", "009"), (3, "DELIVRD", "")]
    assert lifecycle.parts_outcome(parts) == ("UNKNOWN", "009")
    assert lifecycle.receipt_outcome("UNKNOWN") == "unknown"
    # An expiry or a failure says more than an unknown fate.
    assert lifecycle.parts_outcome([(1, "UNKNOWN", ""), (2, "EXPIRED", "007")]) == ("EXPIRED", "007")
    assert lifecycle.parts_outcome([(1, "UNKNOWN", ""), (2, "UNDELIV", "005")]) == ("UNDELIV", "005")


def test_a_message_waits_while_a_segment_is_unanswered():
    assert lifecycle.parts_outcome([(1, "DELIVRD", "000"), (2, "", "")]) is None
    assert lifecycle.parts_outcome([]) is None


# --- through the receipts path ---------------------------------------------------------------------


def test_submit_records_a_part_per_segment_and_the_first_id_on_the_message(campaign):
    ids = submit(campaign)
    assert message(ids[0]).provider_id == f"m{ids[0]}-1"
    assert list(MessagePart.objects.filter(message_id=ids[0]).values_list("number", "provider_id", "stat")) == [
        (1, f"m{ids[0]}-1", ""),
        (2, f"m{ids[0]}-2", ""),
        (3, f"m{ids[0]}-3", ""),
    ]
    assert MessagePart.objects.count() == 9
    assert set(MessagePart.objects.values_list("connection_id", flat=True)) == {campaign.connection_id}


def test_a_message_is_delivered_once_every_segment_is_in_any_order(campaign, connection):
    ids = submit(campaign)
    a = ids[0]
    assert receipts.ingest(connection.pk, [Receipt(f"m{a}-3"), Receipt(f"m{a}-1")]) == (2, 2)
    assert message(a).status == "submitted"  # segment 2 still unanswered
    assert counters(campaign)["delivered"] == 0
    assert receipts.ingest(connection.pk, [Receipt(f"m{a}-2")]) == (1, 1)
    row = message(a)
    assert (row.status, row.receipt_stat, row.error_code) == ("delivered", "DELIVRD", "")
    assert row.done_at is not None
    assert counters(campaign)["delivered"] == 1 and counters(campaign)["submitted"] == 2
    assert not PendingReceipt.objects.exists()
    assert lifecycle.reconcile(campaign.pk) == {}


def test_one_failed_segment_fails_the_message_with_its_code_and_the_rest_change_nothing(campaign, connection):
    ids = submit(campaign)
    a = ids[0]
    receipts.ingest(connection.pk, [Receipt(f"m{a}-1"), Receipt(f"m{a}-2", "UNDELIV", "012")])
    row = message(a)
    assert (row.status, row.receipt_stat, row.error_code) == ("failed", "UNDELIV", "012")
    assert counters(campaign)["failed"] == 1
    # The last segment's receipt comes after the message ended: it moves nothing.
    receipts.ingest(connection.pk, [Receipt(f"m{a}-3")])
    row = message(a)
    assert (row.status, row.error_code) == ("failed", "012")
    assert counters(campaign)["failed"] == 1 and counters(campaign)["delivered"] == 0
    assert lifecycle.reconcile(campaign.pk) == {}
    # Kept a while like any duplicate, then dropped.
    assert PendingReceipt.objects.count() == 1
    with time_machine.travel(timezone.now() + receipts.DUPLICATE_AFTER + timedelta(seconds=5)):
        receipts.apply_pending(connection.pk)
    assert not PendingReceipt.objects.exists()


def test_an_expired_segment_expires_the_message_with_its_code(campaign, connection):
    ids = submit(campaign)
    a = ids[0]
    receipts.ingest(connection.pk, [Receipt(f"m{a}-1"), Receipt(f"m{a}-2", "EXPIRED", "007"), Receipt(f"m{a}-3")])
    row = message(a)
    assert (row.status, row.receipt_stat, row.error_code) == ("expired", "EXPIRED", "007")
    assert counters(campaign)["expired"] == 1


def test_a_segment_receipt_before_the_submit_result_is_applied_once_the_result_lands(campaign, connection):
    ids, attempts = claim(campaign)
    a = ids[0]
    # Segment 2's receipt comes before the submit_sm_resp of the message is recorded.
    assert receipts.ingest(connection.pk, [Receipt(f"m{a}-2")]) == (1, 0)
    assert PendingReceipt.objects.count() == 1
    gateway.record_results(campaign.pk, [Result(ref=a, message_ids=(f"m{a}-1", f"m{a}-2", f"m{a}-3"))], attempts)
    assert receipts.apply_pending(connection.pk) == 0  # the part is answered; the message waits for the others
    assert not PendingReceipt.objects.exists()
    assert MessagePart.objects.get(message_id=a, number=2).stat == "DELIVRD"
    receipts.ingest(connection.pk, [Receipt(f"m{a}-1"), Receipt(f"m{a}-3")])
    assert message(a).status == "delivered"
    assert lifecycle.reconcile(campaign.pk) == {}


def test_early_receipts_of_every_segment_move_the_message_in_the_pending_pass(campaign, connection):
    ids, attempts = claim(campaign)
    a = ids[0]
    receipts.ingest(connection.pk, [Receipt(f"m{a}-1"), Receipt(f"m{a}-3", "UNDELIV", "044"), Receipt(f"m{a}-2")])
    assert PendingReceipt.objects.count() == 3
    gateway.record_results(campaign.pk, [Result(ref=a, message_ids=(f"m{a}-1", f"m{a}-2", f"m{a}-3"))], attempts)
    assert receipts.apply_pending(connection.pk) == 1
    row = message(a)
    assert (row.status, row.error_code) == ("failed", "044")
    assert not PendingReceipt.objects.exists()
    assert counters(campaign)["failed"] == 1 and counters(campaign)["submitted"] == 0
    assert lifecycle.reconcile(campaign.pk) == {}


def test_a_duplicate_segment_receipt_counts_once(campaign, connection):
    ids = submit(campaign)
    a = ids[0]
    # Segment 1 twice in one round, and again later with another stat: the first receipt stands.
    receipts.ingest(connection.pk, [Receipt(f"m{a}-1"), Receipt(f"m{a}-1")])
    receipts.ingest(connection.pk, [Receipt(f"m{a}-1", "UNDELIV", "001"), Receipt(f"m{a}-2")])
    assert message(a).status == "submitted"  # two answered segments, not three
    assert MessagePart.objects.get(message_id=a, number=1).stat == "DELIVRD"
    receipts.ingest(connection.pk, [Receipt(f"m{a}-3")])
    assert message(a).status == "delivered"
    assert counters(campaign)["delivered"] == 1
    assert lifecycle.reconcile(campaign.pk) == {}


def test_many_long_messages_in_one_round(campaign, connection):
    ids = submit(campaign)
    everything = [Receipt(f"m{i}-{n}") for n in (3, 2, 1) for i in ids]
    everything[0] = Receipt(f"m{ids[0]}-3", "REJECTD", "099")
    assert receipts.ingest(connection.pk, everything) == (9, 9)
    assert dict(Message.objects.filter(campaign=campaign).values_list("id", "status")) == {
        ids[0]: "failed",
        ids[1]: "delivered",
        ids[2]: "delivered",
    }
    assert lifecycle.reconcile(campaign.pk) == {}


def test_a_long_message_with_one_provider_id_is_decided_by_its_one_receipt(campaign, connection):
    # An HTTP provider (batchSendSms) answers one id per message however many segments it has.
    ids, attempts = claim(campaign)
    gateway.record_results(campaign.pk, [Result(ref=i, message_ids=(f"h{i}",)) for i in ids], attempts)
    assert MessagePart.objects.filter(message_id=ids[0]).count() == 1
    assert receipts.ingest(connection.pk, [Receipt(f"h{ids[0]}"), Receipt(f"h{ids[1]}", "UNDELIV", "005")]) == (2, 2)
    assert dict(Message.objects.filter(pk__in=ids[:2]).values_list("id", "status")) == {
        ids[0]: "delivered",
        ids[1]: "failed",
    }
    assert lifecycle.reconcile(campaign.pk) == {}


def test_the_first_segment_id_alone_does_not_deliver_a_long_message(campaign, connection):
    ids = submit(campaign)
    a = ids[0]
    receipts.ingest(connection.pk, [Receipt(f"m{a}-1")])
    assert message(a).status == "submitted"


def test_a_long_message_without_every_receipt_expires_after_72_hours(campaign, connection):
    ids = submit(campaign)
    receipts.ingest(connection.pk, [Receipt(f"m{ids[0]}-1"), Receipt(f"m{ids[0]}-2")])
    assert lifecycle.expire(timezone.now() + lifecycle.REPORT_WINDOW + timedelta(minutes=1)) == {campaign.pk: 3}
    assert lifecycle.reconcile(campaign.pk) == {}


def test_single_segment_messages_write_and_read_no_parts(shop, factories, connection):
    template = factories.create_template(shop, content="Your order ${1} has shipped.")
    short = create_campaign(shop, template, connection, phones(3, 100), status=Campaign.Status.RUNNING)
    plan_campaign(short.pk)
    ids, attempts = claim(short)
    with CaptureQueriesContext(db_connection) as submits:
        gateway.record_results(short.pk, [Result(ref=i, message_ids=(f"s{i}",)) for i in ids], attempts)
    with CaptureQueriesContext(db_connection) as applied:
        assert receipts.ingest(connection.pk, [Receipt(f"s{i}") for i in ids]) == (3, 3)
    assert not MessagePart.objects.exists()
    assert not [q for q in [*submits.captured_queries, *applied.captured_queries] if "messagepart" in q["sql"]]
    assert set(Message.objects.filter(campaign=short).values_list("status", flat=True)) == {"delivered"}


def test_the_retention_purge_deletes_the_parts_with_their_messages(campaign, connection, settings):
    ids = submit(campaign)
    receipts.ingest(connection.pk, [Receipt(f"m{i}-{n}") for i in ids for n in (1, 2, 3)])
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.COMPLETED, finished_at=timezone.now() - timedelta(days=1000)
    )
    assert privacy.purge_old_messages()["messages_deleted"] == 3
    assert not MessagePart.objects.exists()


def test_the_record_page_lists_each_segment_with_its_receipt(campaign, connection, alice_client):
    from django.urls import reverse

    ids = submit(campaign)
    a = ids[0]
    receipts.ingest(connection.pk, [Receipt(f"m{a}-1"), Receipt(f"m{a}-2", "UNDELIV", "012")])
    html = alice_client.get(reverse("reports:record", args=[a])).content.decode()
    assert 'id="record-parts"' in html
    assert f"m{a}-3" in html and "UNDELIV" in html and "012" in html
    assert "No receipt yet" in html


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_rounds_answering_segments_of_one_message_at_once_still_decide_it(
    postgres_url, shop, long_template, connection, monkeypatch
):
    """Each round answers its segments, then pauses before it decides: both are in flight at once
    and neither sees the other's answer uncommitted; the message must still end delivered."""
    import threading
    import time

    from django.db import connections

    campaign = create_campaign(shop, long_template, connection, phones(1, 200), status=Campaign.Status.RUNNING)
    plan_campaign(campaign.pk)
    (a,) = submit(campaign)
    decide = lifecycle._decide

    def slow_decide(*args):
        time.sleep(0.5)
        return decide(*args)

    monkeypatch.setattr(lifecycle, "_decide", slow_decide)
    errors = []

    def round_of(provider_ids):
        try:
            receipts.ingest(connection.pk, [Receipt(pid) for pid in provider_ids])
        except Exception as error:  # noqa: BLE001 (reported by the assertion below)
            errors.append(error)
        finally:
            connections.close_all()

    rounds = [threading.Thread(target=round_of, args=(ids,)) for ids in ([f"m{a}-1"], [f"m{a}-2", f"m{a}-3"])]
    for thread in rounds:
        thread.start()
    for thread in rounds:
        thread.join(30)
    assert errors == []
    assert set(MessagePart.objects.filter(message_id=a).values_list("stat", flat=True)) == {"DELIVRD"}
    assert message(a).status == "delivered"
    assert lifecycle.reconcile(campaign.pk) == {}
