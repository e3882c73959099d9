from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from campaigns import dispatch, gateway
from campaigns.models import Batch, Campaign, Message
from campaigns.tasks import (
    cancel_queued_messages,
    dispatch_campaign,
    plan_campaign,
    start_due_campaigns,
    sweep_stuck_batches,
    sweep_stuck_sending,
)
from tests.sending_helpers import (  # noqa: F401 (fixture)
    counters,
    create_campaign,
    create_connection,
    phones,
    rows_by_status,
    sending_redis,
)


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Your order ${1} has shipped.")


@pytest.fixture
def connection(db):
    return create_connection()


@pytest.fixture
def planned(settings, shop, template, connection, sending_redis):
    """A running campaign of 10 queued messages in 5 batches of 2, nothing pushed yet."""
    settings.SMS_BATCH_SIZE = 2
    settings.SMS_MAX_PUSHED_BATCHES = 3
    campaign = create_campaign(shop, template, connection, phones(10), status=Campaign.Status.RUNNING)
    plan_campaign(campaign.pk)  # its dispatch waits for a commit that never comes in this test
    campaign.refresh_from_db()
    return campaign


def jobs(redis_client, connection):
    return [job.decode() for job in redis_client.lrange(dispatch.queue_key(connection.pk), 0, -1)]


def batch_statuses(campaign):
    return list(Batch.objects.filter(campaign=campaign).order_by("number").values_list("status", flat=True))


def test_dispatch_pushes_pending_batches_up_to_the_limit_in_flight(planned, connection, sending_redis):
    result = dispatch_campaign(planned.pk)

    assert result == {"campaign": planned.pk, "pushed": 3}
    assert batch_statuses(planned) == ["pushed", "pushed", "pushed", "pending", "pending"]
    pushed = Batch.objects.filter(campaign=planned, status="pushed").order_by("number")
    # The list is consumed from the right: the first batch leaves first.
    assert jobs(sending_redis, connection)[::-1] == [f"{planned.pk}:{b.pk}" for b in pushed]
    assert all(b.pushes == 1 and b.pushed_at for b in pushed)


def test_dispatch_twice_does_not_push_a_batch_twice(planned, connection, sending_redis):
    dispatch_campaign(planned.pk)
    assert dispatch_campaign(planned.pk)["pushed"] == 0
    assert len(jobs(sending_redis, connection)) == 3


def test_the_next_batch_is_pushed_when_one_finishes(planned, connection, sending_redis):
    dispatch_campaign(planned.pk)
    first = Batch.objects.get(campaign=planned, number=1)
    Message.objects.filter(campaign=planned, id__range=(first.first_id, first.last_id)).update(
        status="submitted", provider_id="x"
    )

    gateway.finish_batch(first)

    assert batch_statuses(planned) == ["done", "pushed", "pushed", "pushed", "pending"]


def test_claiming_batches_is_compare_and_set(planned):
    ids = list(Batch.objects.filter(campaign=planned).values_list("pk", flat=True))
    assert sorted(dispatch.claim_batches(ids[:2])) == sorted(ids[:2])
    assert sorted(dispatch.claim_batches(ids)) == sorted(ids[2:])
    assert dispatch.claim_batches(ids) == []


def test_a_batch_reads_its_queued_messages_in_order_with_their_values(planned):
    batch = Batch.objects.filter(campaign=planned).order_by("number").first()
    expected = list(
        Message.objects.filter(campaign=planned, id__gte=batch.first_id, id__lte=batch.last_id)
        .order_by("id")
        .values_list("id", "phone", "variables", "segments")
    )
    assert gateway.queued_messages(batch) == expected and isinstance(expected[0][2], list)

    gateway.claim_messages(planned.pk, [expected[0][0]])
    assert gateway.queued_messages(batch) == expected[1:]  # a claimed message is no longer queued


def test_a_job_pushed_twice_sends_each_message_once(planned):
    """The gateway claims queued → sending before submitting: the second copy finds nothing."""
    batch = Batch.objects.filter(campaign=planned).order_by("number").first()
    message_ids = [m for m, *_ in gateway.queued_messages(batch)]

    first = gateway.claim_messages(planned.pk, message_ids)
    second = gateway.claim_messages(planned.pk, message_ids)

    assert sorted(first) == message_ids and all(attempts == 1 for attempts in first.values())
    assert second == {}
    assert counters(planned)["sending"] == 2
    assert counters(planned)["queued"] == 8


def test_a_paused_campaign_is_not_dispatched_and_resume_dispatches_it(
    planned, connection, sending_redis, django_capture_on_commit_callbacks
):
    planned.pause()
    assert dispatch_campaign(planned.pk)["pushed"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        planned.resume()
    assert len(jobs(sending_redis, connection)) == 3


def test_a_campaign_with_nothing_to_send_completes_at_dispatch(acme, shop, template, connection, sending_redis):
    from campaigns.models import OptOut

    campaign = create_campaign(shop, template, connection, phones(2), status=Campaign.Status.RUNNING)
    for phone in phones(2):
        OptOut.objects.create(account=acme, phone=phone)
    plan_campaign(campaign.pk)

    dispatch_campaign(campaign.pk)

    campaign.refresh_from_db()
    assert campaign.status == "completed"
    assert campaign.finished_at is not None
    assert counters(campaign)["skipped"] == 2


def test_cancel_cancels_queued_messages_and_leaves_those_in_flight(planned, django_capture_on_commit_callbacks):
    batch = Batch.objects.filter(campaign=planned).order_by("number").first()
    gateway.claim_messages(planned.pk, [m for m, *_ in gateway.queued_messages(batch)])

    with django_capture_on_commit_callbacks(execute=True):
        planned.cancel()

    assert rows_by_status(planned)["cancelled"] == 8
    assert rows_by_status(planned)["sending"] == 2
    assert counters(planned)["cancelled"] == 8
    assert counters(planned)["queued"] == 0
    assert set(batch_statuses(planned)) == {"done"}
    assert cancel_queued_messages(planned.pk)["cancelled"] == 0  # a redelivered task changes nothing


def test_the_sweeper_repushes_batches_pushed_long_ago_that_still_have_queued_messages(
    planned, connection, sending_redis
):
    dispatch_campaign(planned.pk)
    sending_redis.delete(dispatch.queue_key(connection.pk))  # Redis restarted and lost the list
    first = Batch.objects.get(campaign=planned, number=1)
    Message.objects.filter(campaign=planned, id__range=(first.first_id, first.last_id)).update(
        status="submitted", provider_id="x"
    )

    assert sweep_stuck_batches()["repushed"] == 0  # not stuck yet
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        result = sweep_stuck_batches()

    assert result["repushed"] == 2  # the first has nothing queued: it is finished, not stuck
    repushed = Batch.objects.filter(campaign=planned, number__in=[2, 3]).order_by("number")
    assert [b.pushes for b in repushed] == [2, 2]
    assert sorted(jobs(sending_redis, connection)) == sorted(f"{planned.pk}:{b.pk}" for b in repushed)


def test_the_sweeper_leaves_jobs_that_wait_on_the_list_or_are_held_by_a_live_gateway(
    planned, connection, sending_redis
):
    dispatch_campaign(planned.pk)
    queue = dispatch.queue_key(connection.pk)
    # One job taken by a live gateway, one by a gateway that died for good, one still waiting.
    sending_redis.lmove(queue, dispatch.processing_key(connection.pk, "alive"), "RIGHT", "LEFT")
    sending_redis.lmove(queue, dispatch.processing_key(connection.pk, "dead"), "RIGHT", "LEFT")
    sending_redis.set(dispatch.alive_key("alive"), "1", ex=30)

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert sweep_stuck_batches()["repushed"] == 1

    second = Batch.objects.get(campaign=planned, number=2)
    assert second.pushes == 2  # the dead gateway's
    assert list(
        Batch.objects.filter(campaign=planned, number__in=[1, 3]).order_by("number").values_list("pushes", flat=True)
    ) == [1, 1]
    assert jobs(sending_redis, connection)[0] == f"{planned.pk}:{second.pk}"


def test_the_sweeper_dispatches_a_running_campaign_that_has_nothing_pushed(planned, connection, sending_redis):
    assert sweep_stuck_batches() == {"repushed": 0, "dispatched": 1}
    assert len(jobs(sending_redis, connection)) == 3


def test_the_sweeper_skips_when_another_run_holds_the_lock(planned, sending_redis):
    from campaigns.redis_client import key

    sending_redis.set(key("lock", "sweep_stuck_batches"), "someone", ex=60)
    assert sweep_stuck_batches() == {"skipped": "already running"}


def test_messages_stuck_in_sending_become_unknown_and_are_never_sent_again(planned, sending_redis):
    batch = Batch.objects.filter(campaign=planned).order_by("number").first()
    gateway.claim_messages(planned.pk, [m for m, *_ in gateway.queued_messages(batch)])

    assert sweep_stuck_sending() == {"unknown": 0}
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert sweep_stuck_sending() == {"unknown": 2}

    assert rows_by_status(planned)["unknown"] == 2
    assert counters(planned)["sending"] == 0
    assert counters(planned)["unknown"] == 2
    assert gateway.claim_messages(planned.pk, [m for m in range(batch.first_id, batch.last_id + 1)]) == {}


def test_the_last_stuck_messages_complete_the_campaign(shop, template, connection, sending_redis):
    campaign = create_campaign(shop, template, connection, phones(1), status=Campaign.Status.RUNNING)
    plan_campaign(campaign.pk)
    batch = Batch.objects.get(campaign=campaign)
    gateway.claim_messages(campaign.pk, [m for m, *_ in gateway.queued_messages(batch)])
    dispatch.finish_batch(batch)

    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        sweep_stuck_sending()

    campaign.refresh_from_db()
    assert campaign.status == "completed"


def test_due_scheduled_campaigns_are_launched_and_planned(
    shop, template, connection, sending_redis, django_capture_on_commit_callbacks
):
    soon = create_campaign(shop, template, connection, phones(2), name="soon")
    later = create_campaign(shop, template, connection, phones(2), name="later")
    soon.schedule(timezone.now() + timedelta(hours=1))
    later.schedule(timezone.now() + timedelta(days=2))

    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        with django_capture_on_commit_callbacks(execute=True):
            assert start_due_campaigns() == {"started": 1}

    soon.refresh_from_db()
    later.refresh_from_db()
    assert soon.status == "running" and soon.planned_at is not None
    assert later.status == "scheduled"
    assert counters(soon)["queued"] == 2


def test_messages_of_a_paused_campaign_cannot_be_claimed(planned):
    batch = Batch.objects.filter(campaign=planned).order_by("number").first()
    planned.pause()
    assert gateway.claim_messages(planned.pk, [m for m, *_ in gateway.queued_messages(batch)]) == {}
    assert counters(planned)["sending"] == 0
