"""Campaign counters as delta rows (CampaignCount): the lifecycle's moves insert deltas and leave the
campaign row alone, a squash folds them in, and every reader (Campaign.objects.with_counters,
refresh_from_db, completion, reconcile) sees the row plus the unsquashed deltas."""

import pytest

from campaigns import dispatch, lifecycle
from campaigns.models import Batch, Campaign, CampaignCount, Message
from campaigns.tasks import squash_campaign_counters
from tests.sending_helpers import (  # noqa: F401 (fixtures)
    counters,
    message_ids,
    planned_campaign,
    shipped_template,
    simulator_connection,
)


@pytest.fixture
def campaign(shop, shipped_template, simulator_connection):
    return planned_campaign(shop, shipped_template, simulator_connection, 4)


def bare_row(campaign):
    return Campaign.objects.values("queued", "sending", "submitted", "delivered").get(pk=campaign.pk)


def test_a_move_inserts_a_delta_row_and_leaves_the_campaign_row_alone(campaign):
    lifecycle.claim(campaign.pk, message_ids(campaign)[:3])
    assert bare_row(campaign) == {"queued": 4, "sending": 0, "submitted": 0, "delivered": 0}
    assert list(CampaignCount.objects.filter(campaign=campaign).values_list("queued", "sending")) == [(-3, 3)]
    assert counters(campaign)["queued"] == 1 and counters(campaign)["sending"] == 3


def test_readers_see_the_same_counts_before_and_after_a_squash(campaign):
    first, second, *_rest = message_ids(campaign)
    lifecycle.claim(campaign.pk, [first, second])
    lifecycle.record_submits(submitted=[(first, "p1")], unknown=[second])
    lifecycle.apply_receipts([(first, "DELIVRD", "000")])
    before = counters(campaign)
    assert {k: v for k, v in before.items() if v} == {"total": 4, "queued": 2, "delivered": 1, "unknown": 1}
    assert CampaignCount.objects.filter(campaign=campaign).count() == 3
    assert lifecycle.reconcile(campaign.pk) == {}

    assert squash_campaign_counters() == {"squashed": 1}
    assert counters(campaign) == before
    assert not CampaignCount.objects.exists()
    assert bare_row(campaign) == {"queued": 2, "sending": 0, "submitted": 0, "delivered": 1}
    assert lifecycle.reconcile(campaign.pk) == {}
    assert lifecycle.squash_counters() == 0  # nothing left to fold


def test_instances_and_refresh_from_db_carry_the_unsquashed_deltas(campaign):
    lifecycle.claim(campaign.pk, message_ids(campaign))
    campaign.refresh_from_db()
    assert (campaign.queued, campaign.sending) == (0, 4)
    listed = Campaign.objects.with_counters().get(pk=campaign.pk)
    assert (listed.queued, listed.sending, listed.counted_sending) == (0, 4, 4)
    assert Campaign.objects.with_counters().filter(counted_sending=4).exists()


def test_values_of_a_bare_counter_are_refused_where_they_would_miss_the_deltas(campaign):
    with pytest.raises(TypeError, match="counted_"):
        Campaign.objects.with_counters().values("sending")
    assert Campaign.objects.with_counters().values_list("counted_queued", flat=True).get(pk=campaign.pk) == 4


def test_completion_reads_the_deltas_not_the_bare_row(campaign):
    ids = message_ids(campaign)
    lifecycle.claim(campaign.pk, ids)
    lifecycle.squash_counters()
    Batch.objects.filter(campaign=campaign).update(status=Batch.Status.DONE)
    assert dispatch.complete_if_finished(campaign.pk) is False  # four sending
    lifecycle.record_submits(submitted=[(message_id, f"p{message_id}") for message_id in ids])
    # The bare row still says four are sending; the delta of the submit results says none is.
    assert bare_row(campaign)["sending"] == 4
    assert dispatch.complete_if_finished(campaign.pk) is True


def test_finishing_a_batch_squashes_its_campaign(campaign):
    lifecycle.claim(campaign.pk, message_ids(campaign))
    lifecycle.record_submits(submitted=[(message_id, f"p{message_id}") for message_id in message_ids(campaign)])
    batch = Batch.objects.get(campaign=campaign)
    assert dispatch.finish_batch(batch) is True
    assert not CampaignCount.objects.filter(campaign=campaign).exists()
    assert bare_row(campaign) == {"queued": 0, "sending": 0, "submitted": 4, "delivered": 0}


def test_the_sweepers_squash_first_so_a_stuck_claim_is_found(campaign):
    from datetime import timedelta

    from django.utils import timezone

    lifecycle.claim(campaign.pk, message_ids(campaign)[:2])
    Message.objects.filter(campaign=campaign).update(updated_at=timezone.now() - timedelta(hours=1))
    # The row alone says nothing is sending; the sweeper's filter reads the row after its squash.
    assert bare_row(campaign)["sending"] == 0
    assert lifecycle.mark_stuck_sending(timezone.now() - timedelta(minutes=5)) == {campaign.pk: 2}
    assert counters(campaign)["unknown"] == 2 and counters(campaign)["sending"] == 0


def test_a_bare_save_of_a_counted_instance_leaves_the_counters_to_the_squash(campaign):
    lifecycle.claim(campaign.pk, message_ids(campaign)[:3])
    listed = Campaign.objects.with_counters().get(pk=campaign.pk)
    listed.name = "Renamed"
    listed.save()  # the instance holds row + deltas: writing them back would count the deltas twice
    assert bare_row(campaign) == {"queued": 4, "sending": 0, "submitted": 0, "delivered": 0}
    lifecycle.squash_counters()
    assert counters(campaign)["queued"] == 1 and counters(campaign)["sending"] == 3
    assert Campaign.objects.get(pk=campaign.pk).name == "Renamed"
    campaign.refresh_from_db()  # refresh_from_db folds the deltas in too
    campaign.save()
    assert lifecycle.reconcile(campaign.pk) == {}


def test_naming_a_counter_in_update_fields_of_a_counted_instance_is_refused(campaign):
    listed = Campaign.objects.with_counters().get(pk=campaign.pk)
    with pytest.raises(TypeError, match="move_counters"):
        listed.save(update_fields=["queued"])
    listed.save(update_fields=["name"])
