"""Delivery receipts: stored first, then applied to their messages set-based.

A receipt can arrive before the gateway has recorded the submit response that tells which message
has that provider id (seen in practice). So every receipt is first written to PendingReceipt,
durably, before the SMSC gets its deliver_sm_resp; `apply_pending` then matches the stored
receipts against messages by (connection, provider id). One that matches nothing yet stays
pending and is matched by a later pass, which the gateway runs after each submit result it
records. Receipts whose message never shows up are purged after 72 hours.

Long messages: only the provider id of the first segment is kept; the receipts of the other
segments match no message and are dropped by the gateway when it knows their ids, else purged.
"""

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from campaigns.dispatch import ids_in
from campaigns.models import Campaign, Message, PendingReceipt
from sms.smpp.receipts import FINAL_STATS

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=72)
DUPLICATE_AFTER = timedelta(minutes=2)
APPLY_CHUNK = 5000

# SMPP receipt stat → message status; anything else (UNDELIV, REJECTD, DELETED, UNKNOWN, …) fails.
OUTCOMES = {"DELIVRD": Message.Status.DELIVERED, "EXPIRED": Message.Status.EXPIRED}
COUNTER = {
    Message.Status.DELIVERED: "delivered",
    Message.Status.EXPIRED: "expired",
    Message.Status.FAILED: "failed",
}


def outcome(stat):
    return OUTCOMES.get((stat or "").upper(), Message.Status.FAILED)


def store(connection_id, receipts):
    """Writes final receipts (objects with message_id, stat, err) to PendingReceipt in one
    statement; intermediate ones (ENROUTE, ACCEPTD) say nothing about the outcome and are dropped."""
    now = timezone.now()
    rows = [
        PendingReceipt(
            connection_id=connection_id,
            provider_id=str(r.message_id)[:64],
            stat=(r.stat or "")[:16],
            err=(r.err or "")[:16],
            received_at=now,
        )
        for r in receipts
        if r.message_id and (r.stat or "").upper() in FINAL_STATS
    ]
    PendingReceipt.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def apply_pending(connection_id, now=None):
    """Applies every stored receipt of the connection that matches a submitted message; returns
    how many messages changed. Safe to run concurrently: each message moves once (compare-and-set
    on SUBMITTED) and counters move by the rows that actually moved."""
    changed = 0
    while True:
        moved, matched = _apply_chunk(connection_id)
        changed += moved
        if matched < APPLY_CHUNK:
            break
    drop_duplicates(connection_id, now)
    return changed


def _apply_chunk(connection_id):
    # Only SUBMITTED messages match: provider ids are unique for a while, not for ever (a
    # restarted SMSC may count from 1 again), and a finished message must not swallow the
    # receipt of a newer one with the same id.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, r.stat, r.err, m.id FROM campaigns_pendingreceipt r "
            "JOIN campaigns_message m ON m.connection_id = r.connection_id AND m.provider_id = r.provider_id "
            "AND m.status = 'submitted' "
            "WHERE r.connection_id = %s ORDER BY r.id LIMIT %s",
            [connection_id, APPLY_CHUNK],
        )
        rows = cursor.fetchall()
        if not rows:
            return 0, 0
        groups = {}
        for _receipt_id, stat, err, message_id in rows:
            status = outcome(stat)
            key = (status, "" if status == Message.Status.DELIVERED else (err or "")[:32])
            groups.setdefault(key, set()).add(message_id)
        now = timezone.now()
        moved_by_campaign = {}
        for (status, error_code), message_ids in groups.items():
            ids = sorted(message_ids)
            # A second receipt for the same message (a duplicate, or a later segment) finds it no
            # longer SUBMITTED and changes nothing.
            cursor.execute(
                "UPDATE campaigns_message SET status = %s, error_code = %s, done_at = %s, updated_at = %s "
                f"WHERE status = 'submitted' AND id IN {ids_in(ids)} RETURNING campaign_id",
                [status, error_code, now, now, *ids],
            )
            for (campaign_id,) in cursor.fetchall():
                counts = moved_by_campaign.setdefault(campaign_id, {})
                counts[COUNTER[status]] = counts.get(COUNTER[status], 0) + 1
        receipt_ids = [row[0] for row in rows]
        cursor.execute(f"DELETE FROM campaigns_pendingreceipt WHERE id IN {ids_in(receipt_ids)}", receipt_ids)
        moved = 0
        for campaign_id, counts in moved_by_campaign.items():
            total = sum(counts.values())
            moved += total
            Campaign.move_counters(campaign_id, submitted=-total, **counts)
    return moved, len(rows)


def drop_duplicates(connection_id, now=None):
    """Deletes receipts that name an already finished message and have waited a while: repeated
    deliveries of a receipt. The wait leaves an early receipt for a reused id time to find the
    newer message it belongs to."""
    cutoff = (now or timezone.now()) - DUPLICATE_AFTER
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM campaigns_pendingreceipt WHERE connection_id = %s AND received_at < %s AND EXISTS ("
            "  SELECT 1 FROM campaigns_message m WHERE m.connection_id = campaigns_pendingreceipt.connection_id"
            "  AND m.provider_id = campaigns_pendingreceipt.provider_id"
            "  AND m.status IN ('delivered', 'failed', 'expired'))",
            [connection_id, cutoff],
        )
        return cursor.rowcount


def purge_stale(now=None):
    cutoff = (now or timezone.now()) - STALE_AFTER
    deleted, _ = PendingReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted
