"""The push outbox: HTTP POSTs owed to customers (replies, status reports), delivered with retries.

Enqueue inside the transaction that records the event, with a key unique to the event:

    from campaigns import push
    push.enqueue(kind=Push.Kind.STATUS, account_id=..., application_id=..., url=callback_url,
                 body={"smsMsgId": ..., "status": "DELIVRD", ...}, dedupe_key=f"status:{message_id}")

`enqueue` / `enqueue_many` insert Push rows and ignore keys already there (exactly once, whatever
retries the caller makes), and after the commit wake the delivery task. The body is a dict: sent
form-encoded (Push.Format.FORM, the reference's status report and reply pushes) or as JSON
(Push.Format.JSON, the batch status reports, {"statusReportList": [...]}, at most 50 reports).

`deliver_due` (run by reports.tasks.deliver_pushes, woken after each enqueue and by beat) claims
due pushes, POSTs them with a short timeout and logs every attempt (PushAttempt). A receiver that
answers anything but 2xx, is down or is slow gets the push again with exponential back-off
(BACKOFF_BASE doubling up to BACKOFF_MAX), until RETRY_PERIOD after the push was created; then the
push is given up and marked. Nothing is deleted.
"""

import concurrent.futures
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, timedelta

import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Push, PushAttempt

log = logging.getLogger(__name__)

RETRY_PERIOD = timedelta(hours=72)  # the reference: reports pushed within 72 h at the latest
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
CLAIM_SIZE = 50
# A claimed push is not claimed again before this, so a worker killed mid-delivery delays it at most
# this long; it must outlast a whole claim's deliveries.
LEASE = timedelta(minutes=5)
PARALLEL = 8
DELIVER_TASK = "reports.tasks.deliver_pushes"


@dataclass
class PushRequest:
    kind: str
    account_id: int
    application_id: int
    url: str
    body: dict
    dedupe_key: str
    format: str = Push.Format.FORM


def utc_time(moment):
    """The reference's time format: yyyy-MM-dd'T'HH:mm:ss'Z' in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def enqueue(*, kind, account_id, application_id, url, body, dedupe_key, format=Push.Format.FORM):
    """Owes one push; False if a push with this dedupe_key exists already. Call inside the
    transaction that records the event."""
    request = PushRequest(kind, account_id, application_id, url, body, dedupe_key, format)
    return enqueue_many([request]) == 1


def enqueue_many(requests_):
    """Owes many pushes in one INSERT; returns how many were new."""
    now = timezone.now()
    rows = [
        Push(
            kind=r.kind,
            account_id=r.account_id,
            application_id=r.application_id,
            url=r.url,
            body=r.body,
            format=r.format,
            dedupe_key=r.dedupe_key[:128],
            created_at=now,
            next_attempt_at=now,
        )
        for r in requests_
    ]
    if not rows:
        return 0
    keys = [row.dedupe_key for row in rows]
    existing = set(Push.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    Push.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    transaction.on_commit(wake, robust=True)
    return len(set(keys) - existing)


def wake():
    """Asks a worker to deliver now; beat does it anyway, so a broker hiccup only delays.

    By name: the task lives with the results side (reports), which the engine does not import.
    """
    from smsconsole.celery import app

    app.send_task(DELIVER_TASK, retry=False)


def backoff(attempts):
    """The wait after the `attempts`-th failed try: 30 s, 1 min, 2 min, … up to an hour."""
    # The exponent is capped first: a timedelta of 2**60 periods overflows.
    return min(BACKOFF_BASE * (2 ** min(max(attempts - 1, 0), 20)), BACKOFF_MAX)


def claim_due(now, limit=CLAIM_SIZE):
    """Takes up to `limit` due pushes for this caller: counts the attempt and leases them, in one
    UPDATE (on PostgreSQL skipping rows another worker is claiming). Returns {id: attempt number}."""
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE campaigns_push SET attempts = attempts + 1, next_attempt_at = %s WHERE id IN ("
            "  SELECT id FROM campaigns_push WHERE status = %s AND next_attempt_at <= %s"
            f"  ORDER BY next_attempt_at, id LIMIT %s{skip_locked}"
            ") RETURNING id, attempts",
            [now + LEASE, Push.Status.PENDING, now, limit],
        )
        return dict(cursor.fetchall())


@dataclass
class Outcome:
    push_id: int
    attempt: int
    started_at: object
    duration_ms: int
    status_code: int | None
    error: str


_local = threading.local()


def _new_session():
    _local.session = requests.Session()
    _local.session.headers["User-Agent"] = "smsconsole-push/1"


def post(session, push, attempt):
    """One HTTP POST of `push`; never raises for the receiver's faults."""
    started_at = timezone.now()
    began = time.monotonic()
    status_code, error = None, ""
    kwargs = {"json": push.body} if push.format == Push.Format.JSON else {"data": push.body}
    try:
        response = session.post(push.url, timeout=settings.SMS_PUSH_TIMEOUT, allow_redirects=False, **kwargs)
        status_code = response.status_code
        response.close()
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except requests.Timeout:
        error = f"no answer within {settings.SMS_PUSH_TIMEOUT:g} s"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    return Outcome(push.pk, attempt, started_at, int((time.monotonic() - began) * 1000), status_code, error)


def record(outcomes, pushes, now):
    """Writes a claim's results; returns the counts. Delivered pushes move in one UPDATE, failed
    ones each with their own next attempt; every move is compare-and-set on the claimed attempt,
    so a push whose lease ran out and that another worker claimed again is left to that worker."""
    counts = {"delivered": 0, "retry": 0, "gave_up": 0}
    pending = Push.objects.filter(status=Push.Status.PENDING)
    delivered = [o for o in outcomes if not o.error]
    for attempt in {o.attempt for o in delivered}:
        ids = [o.push_id for o in delivered if o.attempt == attempt]
        counts["delivered"] += pending.filter(pk__in=ids, attempts=attempt).update(
            status=Push.Status.DELIVERED, delivered_at=now, last_error=""
        )
    for outcome in outcomes:
        if not outcome.error:
            continue
        current = pending.filter(pk=outcome.push_id, attempts=outcome.attempt)
        give_up_at = pushes[outcome.push_id].created_at + RETRY_PERIOD
        if now >= give_up_at:
            counts["gave_up"] += current.update(status=Push.Status.GAVE_UP, gave_up_at=now, last_error=outcome.error)
        else:
            # The last try falls at the end of the period, not an hour past it.
            next_at = min(now + backoff(outcome.attempt), give_up_at)
            counts["retry"] += current.update(next_attempt_at=next_at, last_error=outcome.error)
    return counts


def deliver_due(now=None, limit=CLAIM_SIZE):
    """Delivers one claim of due pushes; returns counts ({"delivered": 3, "retry": 1, "claimed": 4})."""
    claimed = claim_due(now or timezone.now(), limit)
    counts = {"claimed": len(claimed), "delivered": 0, "retry": 0, "gave_up": 0}
    if not claimed:
        return counts
    pushes = {p.pk: p for p in Push.objects.filter(pk__in=claimed)}
    # A session per thread: requests does not promise a shared one is thread-safe.
    with concurrent.futures.ThreadPoolExecutor(min(PARALLEL, len(pushes)), initializer=_new_session) as pool:
        outcomes = list(pool.map(lambda p: post(_local.session, p, claimed[p.pk]), pushes.values()))
    done_at = now or timezone.now()
    with transaction.atomic():
        PushAttempt.objects.bulk_create(
            PushAttempt(
                push_id=o.push_id,
                number=o.attempt,
                started_at=o.started_at,
                duration_ms=o.duration_ms,
                status_code=o.status_code,
                error=o.error,
            )
            for o in outcomes
        )
        counts.update(record(outcomes, pushes, done_at))
    return counts
