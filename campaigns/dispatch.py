"""Handing batches to the gateway through Redis, and the set-based state changes around it.

A batch is claimed in the database first (pending → pushed, compare-and-set) and pushed to the
connection's Redis list after: a crash in between leaves a pushed batch that is on no list, which
the stuck-batch sweeper pushes again. The other order would let the gateway pop a job whose batch
still looks pending. Pushing a batch twice is harmless: the gateway claims messages queued →
sending before it submits them, so a second copy of a job finds nothing left to send.

Only a few batches per campaign are pushed at a time (SMS_MAX_PUSHED_BATCHES); the gateway pushes
the next one when it finishes one. So the list stays short and a campaign launched later is not
stuck behind a million-recipient one. A batch counts as lost only when its job is on no list.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns import lifecycle
from campaigns.models import Batch, Campaign, Message
from campaigns.redis_client import get_redis, key
from smsconsole.models import TransitionError

log = logging.getLogger(__name__)


def queue_key(connection_id):
    return key("gateway", connection_id)


def priority_key(connection_id):
    """The connection's list of small API sends (verification codes): the gateway takes from it
    before the bulk list, into the same processing list, so a killed gateway finds those jobs
    again the same way (recovered to the bulk list: the claims keep them from going out twice)."""
    return key("gateway", connection_id, "priority")


def processing_key(connection_id, gateway_id):
    return key("gateway", connection_id, "processing", gateway_id)


def alive_key(gateway_id):
    """Set with a short expiry by a running gateway: its processing lists are being worked on."""
    return key("gateway", "alive", gateway_id)


def jobs_held(connection_id, redis=None):
    """Jobs of a connection that are waiting on its list or held by a gateway that is alive."""
    client = redis or get_redis()
    held = set(client.lrange(queue_key(connection_id), 0, -1))
    held.update(client.lrange(priority_key(connection_id), 0, -1))
    prefix = processing_key(connection_id, "")
    for name in client.scan_iter(match=prefix + "*", count=100):
        gateway_id = name.decode()[len(prefix) :]
        if client.exists(alive_key(gateway_id)):
            held.update(client.lrange(name, 0, -1))
    return {job.decode() for job in held}


def job_for(campaign_id, batch_id):
    return f"{campaign_id}:{batch_id}"


def parse_job(job):
    if isinstance(job, bytes):
        job = job.decode()
    campaign_id, batch_id = job.split(":")
    return int(campaign_id), int(batch_id)


def max_pushed_batches():
    return settings.SMS_MAX_PUSHED_BATCHES


ids_in = lifecycle.ids_in


def claim_batches(batch_ids, from_status=Batch.Status.PENDING):
    """Compare-and-set batches to pushed; returns the ids this call moved."""
    if not batch_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE campaigns_batch SET status = 'pushed', pushes = pushes + 1, pushed_at = %s "
            f"WHERE status = %s AND id IN {ids_in(batch_ids)} RETURNING id",
            [timezone.now(), from_status, *batch_ids],
        )
        return [row[0] for row in cursor.fetchall()]


def push_jobs(connection_id, campaign_id, batch_ids, redis=None):
    if batch_ids:
        (redis or get_redis()).lpush(queue_key(connection_id), *[job_for(campaign_id, b) for b in batch_ids])


def push_job(connection_id, campaign_id, batch_id, priority=False, redis=None):
    """Pushes the job of a batch already marked pushed past the per-campaign limit (an API send's
    batch, lifecycle.accept_api: its request waits for nobody), to the priority list if asked."""
    name = priority_key(connection_id) if priority else queue_key(connection_id)
    (redis or get_redis()).lpush(name, job_for(campaign_id, batch_id))


def dispatch(campaign_id, redis=None):
    """Pushes pending batches of a running campaign, up to the per-campaign limit in flight."""
    # Batches of a campaign still being planned go out too: planning commits them slice by slice.
    campaign = Campaign.objects.filter(pk=campaign_id).values("status", "connection_id", "planned_at").first()
    if campaign is None or campaign["status"] != Campaign.Status.RUNNING:
        return {"campaign": campaign_id, "pushed": 0}
    batches = Batch.objects.filter(campaign_id=campaign_id)
    in_flight = batches.filter(status=Batch.Status.PUSHED).count()
    room = max_pushed_batches() - in_flight
    pushed = []
    if room > 0:
        wanted = list(
            batches.filter(status=Batch.Status.PENDING).order_by("number").values_list("pk", flat=True)[:room]
        )
        pushed = claim_batches(wanted)
        push_jobs(campaign["connection_id"], campaign_id, pushed, redis)
    if not pushed and not in_flight and campaign["planned_at"] is not None:
        complete_if_finished(campaign_id)
    return {"campaign": campaign_id, "pushed": len(pushed)}


def repush(batch_ids, redis=None):
    """Pushes pushed batches again (their job was lost, or their gateway died): one more push each."""
    moved = claim_batches(batch_ids, from_status=Batch.Status.PUSHED)
    rows = Batch.objects.filter(pk__in=moved).values_list("pk", "campaign_id", "campaign__connection_id")
    by_connection = {}
    for batch_id, campaign_id, connection_id in rows:
        by_connection.setdefault(connection_id, []).append(job_for(campaign_id, batch_id))
    client = redis or get_redis()
    for connection_id, jobs in by_connection.items():
        client.lpush(queue_key(connection_id), *jobs)
    return moved


def hand_back(batch_id):
    """A paused campaign's batch goes back to pending; resume pushes it again."""
    return Batch.objects.filter(pk=batch_id, status=Batch.Status.PUSHED).update(status=Batch.Status.PENDING)


def finish_batch(batch):
    """Marks the batch done when no queued message is left in its range; True if it did."""
    left = Message.objects.filter(
        campaign_id=batch.campaign_id, id__gte=batch.first_id, id__lte=batch.last_id, status=Message.Status.QUEUED
    ).exists()
    if left:
        return False
    # Once a batch, the campaign's counter deltas fold into its row, so readers sum only a batch's
    # worth of them; the beat task squashes what comes after (receipts of the last batches).
    lifecycle.squash_counters([batch.campaign_id])
    return bool(
        Batch.objects.filter(pk=batch.pk)
        .exclude(status=Batch.Status.DONE)
        .update(status=Batch.Status.DONE, done_at=timezone.now())
    )


def complete_if_finished(campaign_id):
    """Completes a running campaign once it is planned and nothing is pending, pushed, queued or sending."""
    # An application's hidden API campaign goes on for as long as the application sends.
    if not Campaign.objects.filter(pk=campaign_id, planned_at__isnull=False, source=Campaign.Source.CAMPAIGN).exists():
        return False
    if Batch.objects.filter(campaign_id=campaign_id).exclude(status=Batch.Status.DONE).exists():
        return False
    # The counters, not the rows: they move with the rows (campaigns.lifecycle), and the messages
    # have no index by status (it would keep every status change from being a HOT update). Row
    # plus unsquashed deltas, as every reader of the counters sees them.
    if not Campaign.objects.with_counters().filter(pk=campaign_id, counted_queued=0, counted_sending=0).exists():
        return False
    campaign = Campaign(pk=campaign_id, status=Campaign.Status.RUNNING)
    try:
        campaign.complete()
    except TransitionError:
        return False
    log.info("campaign %s completed", campaign_id)
    return True


def cancel_queued(campaign_id):
    """Queued messages of a cancelled campaign become cancelled; what is in flight finishes."""
    with transaction.atomic():
        cancelled = lifecycle.cancel_queued(campaign_id).get(Message.Status.CANCELLED, 0)
        Batch.objects.filter(campaign_id=campaign_id).exclude(status=Batch.Status.DONE).update(
            status=Batch.Status.DONE, done_at=timezone.now()
        )
    return {"campaign": campaign_id, "cancelled": cancelled}


def stuck_batches(older_than, redis=None):
    """Batches of running campaigns whose job was lost: pushed long ago, with queued messages left,
    and neither waiting on the Redis list nor held by a live gateway (Redis lost the list, or the
    gateway holding it died and was not restarted under its id)."""
    cutoff = timezone.now() - older_than
    running = Batch.objects.filter(campaign__status=Campaign.Status.RUNNING)
    pushed = list(
        running.filter(status=Batch.Status.PUSHED, pushed_at__lt=cutoff).values_list(
            "pk", "campaign_id", "first_id", "last_id", "campaign__connection_id"
        )
    )
    held = {}
    stuck = []
    for batch_id, campaign_id, first_id, last_id, connection_id in pushed:
        if connection_id not in held:
            held[connection_id] = jobs_held(connection_id, redis)
        if job_for(campaign_id, batch_id) in held[connection_id]:
            continue
        if Message.objects.filter(
            campaign_id=campaign_id, id__gte=first_id, id__lte=last_id, status=Message.Status.QUEUED
        ).exists():
            stuck.append(batch_id)
    return stuck


def campaigns_never_planned(older_than):
    """Running campaigns still unplanned long after launch: the worker planning them died, its
    transaction rolled back, and the broker gives an unacknowledged task to another worker only
    after its visibility timeout (an hour by default). Planning again is safe: it is idempotent."""
    cutoff = timezone.now() - older_than
    return list(
        Campaign.objects.filter(
            status=Campaign.Status.RUNNING, planned_at__isnull=True, started_at__lt=cutoff
        ).values_list("pk", flat=True)
    )


def campaigns_without_pushed_batches():
    """Running campaigns with pending batches and none pushed: dispatch was missed."""
    running = Campaign.objects.filter(status=Campaign.Status.RUNNING, planned_at__isnull=False)
    with_pending = set(
        Batch.objects.filter(campaign__in=running, status=Batch.Status.PENDING).values_list("campaign_id", flat=True)
    )
    with_pushed = set(
        Batch.objects.filter(campaign_id__in=with_pending, status=Batch.Status.PUSHED).values_list(
            "campaign_id", flat=True
        )
    )
    return sorted(with_pending - with_pushed)


def mark_stuck_sending(older_than):
    """Messages in SENDING for too long lost their gateway mid-chunk: they may have reached the
    provider, so they become UNKNOWN and are never sent again (lifecycle.mark_stuck_sending)."""
    moved = lifecycle.mark_stuck_sending(timezone.now() - older_than)
    for campaign_id in moved:
        complete_if_finished(campaign_id)
    return moved


def stuck_after(name, default_seconds):
    return timedelta(seconds=getattr(settings, name, default_seconds))
