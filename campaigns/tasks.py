import functools
import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone
from redis.exceptions import LockError

from campaigns import arrears, dispatch, importer, lifecycle, planning, receipts
from campaigns.models import Campaign, RecipientImport
from campaigns.redis_client import get_redis, key
from smsconsole.models import TransitionError

log = logging.getLogger(__name__)

# An import writes progress every batch (seconds apart); one silent this long lost its worker.
STALE_AFTER = timedelta(minutes=15)


@shared_task(acks_late=True)
def import_recipients(import_id):
    return importer.run_import(import_id)


@shared_task
def sweep_stale_imports():
    """Fails imports whose worker died mid-file, so no half list stays 'importing' for ever."""
    cutoff = timezone.now() - STALE_AFTER
    stale = list(
        RecipientImport.objects.filter(status=RecipientImport.Status.RUNNING, progress_at__lt=cutoff).only(
            "pk", "status"
        )
    )
    failed = 0
    for recipient_import in stale:
        try:
            # Only if still silent: a worker that wrote progress since the query is alive.
            recipient_import.fail("interrupted", silent_since=cutoff)
        except TransitionError:
            continue
        importer.discard_rows(recipient_import.pk)
        failed += 1
    return {"failed": failed}


# --- Sending -------------------------------------------------------------------------------------
# Planning and dispatch run here; binds never do: they live in the gateway process
# (`manage.py run_gateway`), which takes the batches pushed below from Redis.


@shared_task(acks_late=True)
def plan_campaign(campaign_id):
    return planning.plan(campaign_id)


@shared_task(acks_late=True)
def dispatch_campaign(campaign_id):
    return dispatch.dispatch(campaign_id)


@shared_task(acks_late=True)
def cancel_queued_messages(campaign_id):
    return dispatch.cancel_queued(campaign_id)


def _exclusive(func):
    """Runs a beat task under a Redis lock, so a slow run and the next tick never overlap."""

    @functools.wraps(func)
    def guarded(*args, **kwargs):
        lock = get_redis().lock(key("lock", func.__name__), timeout=600, blocking=False)
        if not lock.acquire():
            return {"skipped": "already running"}
        try:
            return func(*args, **kwargs)
        finally:
            try:
                lock.release()
            except LockError:
                pass  # it expired during a very long run; the next tick takes a fresh one

    return guarded


@shared_task
@_exclusive
def sweep_stuck_batches():
    """Pushes again the batches whose job was lost (a Redis restart, a gateway killed mid-batch)."""
    stuck = dispatch.stuck_batches(dispatch.stuck_after("SMS_STUCK_BATCH_SECONDS", 120))
    repushed = dispatch.repush(stuck)
    missed = dispatch.campaigns_without_pushed_batches()
    for campaign_id in missed:
        dispatch.dispatch(campaign_id)
    if repushed or missed:
        log.warning("re-pushed %s stuck batches; dispatched %s campaigns again", len(repushed), len(missed))
    result = {"repushed": len(repushed), "dispatched": len(missed)}
    unplanned = dispatch.campaigns_never_planned(dispatch.stuck_after("SMS_STUCK_BATCH_SECONDS", 120))
    for campaign_id in unplanned:
        plan_campaign.delay(campaign_id)
    if unplanned:
        log.warning("planning %s campaigns again (their worker died while planning)", len(unplanned))
        result["replanned"] = len(unplanned)
    return result


@shared_task
@_exclusive
def sweep_stuck_sending():
    """Messages left in SENDING by a gateway that died become UNKNOWN: never sent twice."""
    moved = dispatch.mark_stuck_sending(dispatch.stuck_after("SMS_STUCK_SENDING_SECONDS", 600))
    if moved:
        log.warning("marked %s messages stuck in sending as unknown", sum(moved.values()))
    return {"unknown": sum(moved.values())}


@shared_task
@_exclusive
def start_due_campaigns():
    started = 0
    due = Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=timezone.now())
    for campaign in due.only("pk", "status", "scheduled_at"):
        try:
            campaign.launch()
        except TransitionError:
            continue  # cancelled or launched by someone else meanwhile
        started += 1
    return {"started": started}


@shared_task
@_exclusive
def expire_unreported_messages():
    """Submitted messages with no delivery report within 72 hours become expired."""
    expired = lifecycle.expire()
    for campaign_id in expired:
        dispatch.complete_if_finished(campaign_id)
    return {"expired": sum(expired.values())}


@shared_task
@_exclusive
def squash_hourly_stats():
    """Folds the hourly statistics' delta rows into one row per key (readers SUM either way)."""
    return {"squashed": lifecycle.squash_hourly()}


@shared_task
@_exclusive
def purge_stale_receipts():
    return {"purged": receipts.purge_stale()}


@shared_task
@_exclusive
def enforce_arrears():
    """Pauses the running campaigns of frozen accounts; past the retention period their
    signatures wait for activation (campaigns.arrears)."""
    return arrears.enforce()


@shared_task
@_exclusive
def resume_held_campaigns():
    """Campaigns held by quiet hours or a quota send on when the window opens, the period renews
    or the limit is raised (campaigns.sending_rules)."""
    from campaigns import sending_rules

    return {"resumed": sending_rules.resume_held()}


@shared_task
def notify_balance(account_id, kind):
    """Tells the account's traffic contacts its balance is low or cannot pay for the next messages,
    by email and SMS, once a day per kind (campaigns.notices)."""
    from campaigns import notices

    return notices.send_balance(account_id, kind)


@shared_task
def notify_quota(usage_id, kind):
    """Mails a quota's alert or limit to the account's traffic contacts (campaigns.quotas)."""
    from campaigns import quotas

    return quotas.send_mail(usage_id, kind)


@shared_task
@_exclusive
def purge_personal_data():
    """Message texts past their account's retention, then messages past the statistics retention."""
    from campaigns import privacy

    return privacy.purge()
