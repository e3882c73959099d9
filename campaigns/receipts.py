"""Delivery receipts: applied straight to their submitted messages, the unmatched kept for later.

`ingest` matches a batch of final receipts against SUBMITTED messages by (connection, provider
id) in the UPDATE that moves them (campaigns.lifecycle), and writes only the receipts that matched
nothing to PendingReceipt, in the same transaction, before the SMSC gets its deliver_sm_resp. A
receipt can arrive before the gateway has recorded the submit response that tells which message
has that provider id (seen in practice): `apply_pending` matches the stored ones again, and the
gateway runs it after each submit result it records. Duplicates of an applied receipt wait a
while in case a newer message takes the id, then go; receipts whose message never shows up stay
for diagnosis and are purged after 72 hours.

Long messages: the provider gives each segment an id and a receipt of its own. A message of
several segments keeps the ids of all of them as MessageParts; receipts that match no
single-segment message are matched against those parts (lifecycle.apply_part_receipts), and the
message moves once its parts decide it (lifecycle.parts_outcome). Single-segment messages, nearly
all of them, never look at parts: the extra query runs only for receipts the first one left
unmatched, which is also when the unmatched are written.
"""

import logging
from datetime import timedelta

from django.conf import settings
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
    returns (final receipts, messages moved).

    Without a receipt journal (campaigns.receipt_journal) the SMSC waits for this commit before it
    sends more receipts, so on PostgreSQL the moves of single-segment messages are one statement
    (lifecycle.apply_receipts_in_one_statement) instead of a savepoint and three statements per
    outcome: each round trip costs a wait for the CPU on a loaded machine.
    SMS_RECEIPTS_SYNCHRONOUS_COMMIT off skips this commit's wait for the disk."""
    return ingest_final(connection_id, final(receipts))


def ingest_final(connection_id, items):
    """`ingest` for final receipts already reduced to (provider id, stat, err): the gateway's
    receipt journal (campaigns.receipt_journal) holds them so."""
    if not items:
        return 0, 0
    postgresql = connection.vendor == "postgresql"
    with transaction.atomic():
        if postgresql and not settings.SMS_RECEIPTS_SYNCHRONOUS_COMMIT:
            with connection.cursor() as cursor:
                # This transaction only: see the setting for what a crash would then lose.
                cursor.execute("SET LOCAL synchronous_commit = off")
        if postgresql:
            matched = lifecycle.apply_receipts_in_one_statement(connection_id, items)
        else:
            _deltas, matched = lifecycle.apply_receipts_by_provider_id(connection_id, items)
        left = [item for item in items if item[0] not in matched]
        parts = set()
        if left:
            _deltas, parts = lifecycle.apply_part_receipts(connection_id, left)
        now = timezone.now()
        _insert_pending(
            [
                (connection_id, provider_id[:64], (stat or "")[:16], (err or "")[:16], now)
                for provider_id, stat, err in left
                if provider_id not in parts
            ]
        )
    return len(items), len(matched) + len(parts)


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
    # receipt of a newer one with the same id. A receipt matches a single-segment message, or an
    # unanswered part of a long one (kind 1), in the same query.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM ("
            "SELECT r.id, r.stat, r.err, m.id AS message_id, r.provider_id, 0 AS kind FROM campaigns_pendingreceipt r "
            "JOIN campaigns_message m ON m.connection_id = r.connection_id AND m.provider_id = r.provider_id "
            "AND m.status = %s AND m.segments = 1 "
            "WHERE r.connection_id = %s "
            "UNION ALL "
            "SELECT r.id, r.stat, r.err, p.message_id, r.provider_id, 1 FROM campaigns_pendingreceipt r "
            "JOIN campaigns_messagepart p ON p.connection_id = r.connection_id AND p.provider_id = r.provider_id "
            "AND p.stat = '' "
            "JOIN campaigns_message m ON m.id = p.message_id AND m.status = %s "
            "WHERE r.connection_id = %s"
            ") AS found ORDER BY id LIMIT %s",
            [Message.Status.SUBMITTED, connection_id, Message.Status.SUBMITTED, connection_id, APPLY_CHUNK],
        )
        rows = cursor.fetchall()
        if not rows:
            return 0, 0
        moved_by_campaign = lifecycle.apply_receipts(
            [(message_id, stat, err) for _receipt_id, stat, err, message_id, _pid, kind in rows if not kind]
        )
        receipt_ids = [row[0] for row in rows if not row[5]]
        part_receipts = [(provider_id, stat, err) for _id, stat, err, _message, provider_id, kind in rows if kind]
        if part_receipts:
            by_parts, matched = lifecycle.apply_part_receipts(connection_id, part_receipts)
            for campaign_id, counts in by_parts.items():
                moved_by_campaign.setdefault(campaign_id, {})
                for name, delta in counts.items():
                    moved_by_campaign[campaign_id][name] = moved_by_campaign[campaign_id].get(name, 0) + delta
            # A second receipt for the same part goes with the first: the part has its answer.
            receipt_ids += [row[0] for row in rows if row[5] and row[4] in matched]
        if receipt_ids:
            cursor.execute(f"DELETE FROM campaigns_pendingreceipt WHERE id IN {ids_in(receipt_ids)}", receipt_ids)
        moved = sum(counts.get(Message.Status.SUBMITTED, 0) for counts in moved_by_campaign.values())
    return -moved, len(rows)


def drop_duplicates(connection_id, now=None):
    """Deletes receipts that name an already finished message, or a segment that has its receipt or
    belongs to a finished message (a failed segment ends its message before the others answer),
    and have waited a while: repeated deliveries of a receipt. The wait leaves an early receipt for
    a reused id time to find the newer message it belongs to."""
    cutoff = (now or timezone.now()) - DUPLICATE_AFTER
    finished = [Message.Status.DELIVERED, Message.Status.FAILED, Message.Status.EXPIRED]
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM campaigns_pendingreceipt WHERE connection_id = %s AND received_at < %s AND (EXISTS ("
            "  SELECT 1 FROM campaigns_message m WHERE m.connection_id = campaigns_pendingreceipt.connection_id"
            "  AND m.provider_id = campaigns_pendingreceipt.provider_id AND m.status IN (%s, %s, %s)"
            ") OR EXISTS ("
            "  SELECT 1 FROM campaigns_messagepart p JOIN campaigns_message m ON m.id = p.message_id"
            "  WHERE p.connection_id = campaigns_pendingreceipt.connection_id"
            "  AND p.provider_id = campaigns_pendingreceipt.provider_id AND (p.stat <> '' OR m.status IN (%s, %s, %s))"
            "))",
            [connection_id, cutoff, *finished, *finished],
        )
        return cursor.rowcount


def purge_stale(now=None):
    cutoff = (now or timezone.now()) - STALE_AFTER
    deleted, _ = PendingReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted
