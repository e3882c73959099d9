"""campaigns.lifecycle: each move changes only rows in its from-state, moves the campaign counters
and the hourly rollups with them, and returns its deltas; reconcile proves counters equal rows."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from campaigns import lifecycle
from campaigns.models import Campaign, HourlyStat, Message
from tests.sending_helpers import (  # noqa: F401 (fixtures)
    counters,
    message_ids,
    planned_campaign,
    rows_by_status,
    shipped_template,
    simulator_connection,
)


@pytest.fixture
def campaign(shop, shipped_template, simulator_connection):
    return planned_campaign(shop, shipped_template, simulator_connection, 4)


def hourly(campaign):
    return lifecycle.hourly_sums(HourlyStat.objects.filter(template_id=campaign.template_id))


def counters_equal_rows(campaign):
    found = counters(campaign)
    found.pop("total")
    return found == {name: rows_by_status(campaign)[name] for name in Campaign.COUNTERS}


def test_a_claim_moves_queued_messages_to_sending_and_counts_them_handed_over(campaign):
    ids = message_ids(campaign)
    claimed = lifecycle.claim(campaign.pk, ids[:3])
    assert claimed == {message_id: 1 for message_id in ids[:3]}
    assert lifecycle.claim(campaign.pk, ids[:3]) == {}  # compare-and-set: nothing moves twice
    assert counters(campaign)["queued"] == 1 and counters(campaign)["sending"] == 3
    assert hourly(campaign) == {"total": 3, "sending": 3, "delivered": 0, "failed": 0, "unknown": 0, "segments": 3}
    assert all(Message.objects.get(pk=i).submitted_at is not None for i in ids[:3])


def test_a_claim_of_a_paused_campaign_moves_nothing(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
    assert lifecycle.claim(campaign.pk, message_ids(campaign)) == {}
    assert counters(campaign)["queued"] == 4


def test_submit_results_return_their_deltas_and_a_requeue_takes_the_message_out_of_the_hour(campaign):
    ids = message_ids(campaign)
    lifecycle.claim(campaign.pk, ids)
    deltas = lifecycle.record_submits(
        submitted=[(ids[0], "p0")], failed={("69", "refused"): [ids[1]]}, unknown=[ids[2]], requeue=[ids[3]]
    )
    assert deltas == {"sending": -4, "submitted": 1, "failed": 1, "unknown": 1, "queued": 1}
    assert Message.objects.get(pk=ids[0]).provider_id == "p0"
    assert Message.objects.get(pk=ids[1]).error_code == "69"
    assert Message.objects.get(pk=ids[3]).submitted_at is None
    assert hourly(campaign) == {"total": 3, "sending": 1, "delivered": 0, "failed": 1, "unknown": 1, "segments": 3}
    assert counters_equal_rows(campaign)


def test_receipts_keep_their_stat_and_error_code(campaign):
    ids = message_ids(campaign)
    lifecycle.claim(campaign.pk, ids)
    lifecycle.record_submits(submitted=[(i, f"p{i}") for i in ids])
    moved = lifecycle.apply_receipts([(ids[0], "DELIVRD", "000"), (ids[1], "UNDELIV", "005"), (ids[2], "EXPIRED", "")])
    assert moved == {campaign.pk: {"submitted": -3, "delivered": 1, "failed": 1, "expired": 1}}
    assert list(
        Message.objects.filter(pk__in=ids[:3]).order_by("id").values_list("status", "receipt_stat", "error_code")
    ) == [
        ("delivered", "DELIVRD", ""),
        ("failed", "UNDELIV", "005"),
        ("expired", "EXPIRED", ""),
    ]
    assert lifecycle.apply_receipts([(ids[0], "UNDELIV", "001")]) == {}  # a second receipt changes nothing
    assert hourly(campaign) == {"total": 4, "sending": 1, "delivered": 1, "failed": 2, "unknown": 0, "segments": 4}
    assert lifecycle.reconcile(campaign.pk) == {}


def test_cancel_skip_and_stuck_sending(campaign):
    ids = message_ids(campaign)
    lifecycle.claim(campaign.pk, ids[:1])
    assert lifecycle.skip(campaign.pk, ids[1:2], "frequency_cap") == {"queued": -1, "skipped": 1}
    assert Message.objects.get(pk=ids[1]).skip_reason == "frequency_cap"
    assert lifecycle.cancel_queued(campaign.pk) == {"queued": -2, "cancelled": 2}
    assert lifecycle.mark_stuck_sending(timezone.now() - timedelta(minutes=10)) == {}
    assert lifecycle.mark_stuck_sending(timezone.now() + timedelta(seconds=1)) == {campaign.pk: 1}
    assert Message.objects.get(pk=ids[0]).status == Message.Status.UNKNOWN
    assert hourly(campaign) == {"total": 1, "sending": 0, "delivered": 0, "failed": 0, "unknown": 1, "segments": 1}
    assert lifecycle.reconcile(campaign.pk) == {}


def test_a_message_without_a_receipt_for_72_hours_expires(campaign):
    ids = message_ids(campaign)
    lifecycle.claim(campaign.pk, ids)
    lifecycle.record_submits(submitted=[(i, f"p{i}") for i in ids])
    assert lifecycle.expire() == {}
    with time_machine.travel(timezone.now() + timedelta(hours=72, minutes=1)):
        assert lifecycle.expire() == {campaign.pk: 4}
    assert set(Message.objects.filter(campaign=campaign).values_list("status", "error")) == {
        ("expired", lifecycle.NO_REPORT_ERROR)
    }
    assert hourly(campaign)["failed"] == 4 and hourly(campaign)["sending"] == 0
    assert lifecycle.reconcile(campaign.pk) == {}


def test_reconcile_names_each_counter_that_disagrees_with_the_rows(campaign):
    assert lifecycle.reconcile(campaign.pk) == {}
    Campaign.move_counters(campaign.pk, queued=-1, delivered=1)
    assert lifecycle.reconcile(campaign.pk) == {
        "queued": {"counted": 3, "rows": 4},
        "delivered": {"counted": 1, "rows": 0},
    }
