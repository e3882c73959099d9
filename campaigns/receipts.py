"""Delivery receipts: applied straight to their submitted messages, the unmatched kept for later.

`ingest` matches a batch of final receipts against SUBMITTED messages by (connection, provider
id) in the UPDATE that moves them (campaigns.lifecycle), and writes only the receipts that matched
nothing to PendingReceipt, in the same transaction, before the SMSC gets its deliver_sm_resp. A
receipt can arrive before the gateway has recorded the submit response that tells which message
has that provider id (seen in practice): `apply_pending` matches the stored ones again, and the
gateway runs it after each submit result it records. Duplicates of an applied receipt wait a
while in case a newer message takes the id, then go; receipts whose message never shows up stay
for diagnosis and are purged after 72 hours.

Long messages: only the provider id of the first segment is kept; the receipts of the other
segments match no message and are dropped by the gateway when it knows their ids, else purged.
"""

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from campaigns import lifecycle
from campaigns.lifecycle import ids_in
from campaigns.models import Message, PendingReceipt
from sms.smpp.receipts import FINAL_STATS

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=72)
DUPLICATE_AFTER = timedelta(minutes=2)
APPLY_CHUNK = 5000
STORE_CHUNK = 1000  # rows per INSERT: 5,000 parameters, within SQLite's limit too


def outcome(stat):
    return lifecycle.receipt_outcome(stat)


def final(receipts):
    """The receipts that say how a message ended, as (provider id, stat, err); intermediate ones
    (ENROUTE, ACCEPTD) say nothing about the outcome and are dropped."""
    return [
        (str(r.message_id)[:64], (r.stat or "")[:16], (r.err or "")[:16])
        for r in receipts
        if r.message_id and (r.stat or "").upper() in FINAL_STATS
    ]


def ingest(connection_id, receipts):
    """Applies final receipts to their submitted messages and stores the rest, in one transaction;
    returns (final receipts, messages moved)."""
    items = final(receipts)
    if not items:
        return 0, 0
    with transaction.atomic():
        _deltas, matched = lifecycle.apply_receipts_by_provider_id(connection_id, items)
        now = timezone.now()
        _insert_pending(
            [
                (connection_id, provider_id[:64], (stat or "")[:16], (err or "")[:16], now)
                for provider_id, stat, err in items
                if provider_id not in matched
            ]
        )
    return len(items), len(matched)


def _insert_pending(rows):
    """(connection_id, provider_id, stat, err, received_at) rows as plain multi-row INSERTs: the SMSC
    waits for the commit, and bulk_create's model instances cost about twice the CPU."""
    with connection.cursor() as cursor:
        for start in range(0, len(rows), STORE_CHUNK):
            chunk = rows[start : start + STORE_CHUNK]
            cursor.execute(
                "INSERT INTO campaigns_pendingreceipt (connection_id, provider_id, stat, err, received_at) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk)),
                [value for row in chunk for value in row],
            )


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
            "AND m.status = %s "
            "WHERE r.connection_id = %s ORDER BY r.id LIMIT %s",
            [Message.Status.SUBMITTED, connection_id, APPLY_CHUNK],
        )
        rows = cursor.fetchall()
        if not rows:
            return 0, 0
        moved_by_campaign = lifecycle.apply_receipts(
            [(message_id, stat, err) for _receipt_id, stat, err, message_id in rows]
        )
        receipt_ids = [row[0] for row in rows]
        cursor.execute(f"DELETE FROM campaigns_pendingreceipt WHERE id IN {ids_in(receipt_ids)}", receipt_ids)
        moved = sum(counts.get(Message.Status.SUBMITTED, 0) for counts in moved_by_campaign.values())
    return -moved, len(rows)


def drop_duplicates(connection_id, now=None):
    """Deletes receipts that name an already finished message and have waited a while: repeated
    deliveries of a receipt. The wait leaves an early receipt for a reused id time to find the
    newer message it belongs to."""
    cutoff = (now or timezone.now()) - DUPLICATE_AFTER
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM campaigns_pendingreceipt WHERE connection_id = %s AND received_at < %s AND EXISTS ("
            "  SELECT 1 FROM campaigns_message m WHERE m.connection_id = campaigns_pendingreceipt.connection_id"
            "  AND m.provider_id = campaigns_pendingreceipt.provider_id AND m.status IN (%s, %s, %s))",
            [connection_id, cutoff, Message.Status.DELIVERED, Message.Status.FAILED, Message.Status.EXPIRED],
        )
        return cursor.rowcount


def purge_stale(now=None):
    cutoff = (now or timezone.now()) - STALE_AFTER
    deleted, _ = PendingReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted
