"""A campaign's receipt diagnostics: how long receipts took, what they said, which stored receipts
still wait to be matched, and which messages still wait for theirs.

Each is one set-based query over the campaign's messages (grouped and bucketed in the database), so a
campaign of a million messages costs a few index scans, never a row per message in Python.
"""

from datetime import timedelta

from django.db.models import (
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Message, PendingReceipt

DEFAULT_WAITING_HOURS = 24
MAX_WAITING_HOURS = 24 * 7
WAITING_SHOWN = 50  # messages listed; the count covers them all
UNMATCHED_SHOWN = 50

# Upper bounds of the latency buckets (submit response → receipt); the last bucket is open.
LATENCY_BOUNDS = [
    (timedelta(seconds=5), _("under 5 s")),
    (timedelta(seconds=10), _("5–10 s")),
    (timedelta(seconds=30), _("10–30 s")),
    (timedelta(minutes=1), _("30–60 s")),
    (timedelta(minutes=5), _("1–5 min")),
    (timedelta(minutes=30), _("5–30 min")),
    (timedelta(hours=1), _("30–60 min")),
    (timedelta(hours=6), _("1–6 h")),
    (timedelta(hours=24), _("6–24 h")),
    (timedelta(hours=72), _("24–72 h")),
]
OVER_LAST_BOUND = _("over 72 h")

# The outcomes a receipt (or its absence for 72 hours) gives a submitted message.
RECEIPT_OUTCOMES = [Message.Status.DELIVERED, Message.Status.FAILED, Message.Status.EXPIRED]


def waiting_hours(raw):
    """N of "waiting longer than N hours" from the query string: whole hours from 1 to a week,
    else the default."""
    try:
        hours = int(raw)
    except (TypeError, ValueError):
        return DEFAULT_WAITING_HOURS
    return hours if 1 <= hours <= MAX_WAITING_HOURS else DEFAULT_WAITING_HOURS


NO_LATENCY = -1  # the bucket of a finished message without both times: refused at submit, or unknown


def finished_messages(campaign):
    """The histogram and the outcome breakdown from one grouped scan of the campaign's finished
    messages: rows of (status, error code, latency bucket, count), a few dozen at most."""
    latency = ExpressionWrapper(F("done_at") - F("submitted_at"), output_field=DurationField())
    timed = Q(status__in=RECEIPT_OUTCOMES, submitted_at__isnull=False, done_at__isnull=False)
    bucket = Case(
        When(~timed, then=Value(NO_LATENCY)),
        *[When(latency__lt=bound, then=Value(index)) for index, (bound, _label) in enumerate(LATENCY_BOUNDS)],
        default=Value(len(LATENCY_BOUNDS)),
        output_field=IntegerField(),
    )
    rows = (
        Message.objects.filter(campaign=campaign, status__in=[*RECEIPT_OUTCOMES, Message.Status.UNKNOWN])
        .annotate(latency=latency)
        .annotate(bucket=bucket)
        .values("status", "error_code", "bucket")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("status", "error_code", "bucket", "n")
    )
    return {"histogram": latency_histogram(rows), "outcomes": outcome_breakdown(rows)}


def latency_histogram(rows):
    """{"total", "buckets": [(label, count, percent)]} for every bucket, empty ones included, over the
    messages submitted and then finished by a receipt (or its absence for 72 hours)."""
    counts = {}
    for _status, _code, bucket, n in rows:
        if bucket != NO_LATENCY:
            counts[bucket] = counts.get(bucket, 0) + n
    labels = [label for _bound, label in LATENCY_BOUNDS] + [OVER_LAST_BOUND]
    total = sum(counts.values())
    return {
        "total": total,
        "buckets": [
            (label, counts.get(index, 0), round(100 * counts.get(index, 0) / total, 1) if total else 0)
            for index, label in enumerate(labels)
        ],
    }


def outcome_breakdown(rows):
    """[(status label, status, error code, count)], the most frequent first: what the receipts (and
    refusals at submit) said."""
    labels = dict(Message.Status.choices)
    counts = {}
    for status, code, _bucket, n in rows:
        counts[(status, code)] = counts.get((status, code), 0) + n
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(labels[status], status, code, n) for (status, code), n in ordered]


def unmatched_receipts(campaign):
    """Stored receipts not yet applied that name one of the campaign's messages: a receipt waiting for
    its message's submit to be recorded, or a repeat (or a later segment's) for a message already
    finished. Receipts that name no message at all belong to no account and are not shown here."""
    messages = Message.objects.filter(
        campaign=campaign, connection_id=OuterRef("connection_id"), provider_id=OuterRef("provider_id")
    )
    receipts = (
        PendingReceipt.objects.filter(connection_id=campaign.connection_id)
        .filter(Exists(messages))
        .order_by("received_at", "id")
    )
    shown = list(receipts.values("provider_id", "stat", "err", "received_at")[: UNMATCHED_SHOWN + 1])
    return {"receipts": shown[:UNMATCHED_SHOWN], "more": len(shown) > UNMATCHED_SHOWN}


def waiting_for_receipt(campaign, hours, now=None):
    """(count, first rows as (phone, submitted_at)) of the messages submitted more than `hours` ago
    that still have no receipt, oldest first."""
    cutoff = (now or timezone.now()) - timedelta(hours=hours)
    waiting = Message.objects.filter(campaign=campaign, status=Message.Status.SUBMITTED, submitted_at__lt=cutoff)
    rows = list(waiting.order_by("submitted_at", "id").values_list("phone", "submitted_at")[:WAITING_SHOWN])
    return waiting.count(), rows
