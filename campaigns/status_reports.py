"""Status reports to customers: the StatusReportDue rows the lifecycle writes become pushes.

`drain` takes the oldest owed reports (on PostgreSQL skipping rows another drain holds), builds
their pushes and deletes them in one transaction, so a worker that dies midway leaves them owed
and the next drain takes them: each report becomes exactly one push, which the push outbox
(campaigns.push) then delivers with retries for 72 hours.

- to the application's batch report URL: JSON `{"statusReportList": [...]}`, at most BATCH_SIZE
  reports a push (the reference's limit), grouped per application and URL;
- to a send's own statusCallback (per_message): one form-encoded push per message.

A report's fields are the reference's (section 1.7): smsMsgId, total, sequence, status,
statusDesc, source, updateTime, orgCode, and `to` (the recipient, since a campaign's customer has
no smsMsgId from a send call to match on; for an API send, `extend` and `to` when it gave an extend).
"""

import time

from django.db import connection, transaction

from campaigns import push
from campaigns.models import Message, Push

S = Message.Status
BATCH_SIZE = 50
DRAIN_SIZE = 1000
# The report status when no receipt stat says it (the reference's vocabulary).
STATUS_WITHOUT_RECEIPT = {S.DELIVERED: "DELIVRD", S.FAILED: "REJECTD", S.EXPIRED: "EXPIRED", S.UNKNOWN: "UNKNOWN"}
SOURCE_PLATFORM, SOURCE_CARRIER = "1", "2"
DRAIN_TASK = "reports.tasks.push_status_reports"
# A process wakes the drain at most this often (seconds): a gateway applies receipts many times a
# second, and one drain takes all that is owed.
WAKE_INTERVAL = 1.0
_wake_at = [float("-inf")]  # when this process's latest wake runs (time.monotonic())


def wake():
    """After a commit that owed reports: asks a worker to drain. A wake already scheduled to run
    after now covers this commit; otherwise one is sent, delayed to keep WAKE_INTERVAL after the
    previous, so the last commit of a burst always gets a drain after it. Beat drains anyway.
    By name: the task lives with the results side (reports), which the engine does not import."""
    now = time.monotonic()
    if _wake_at[0] >= now:
        return
    at = max(now, _wake_at[0] + WAKE_INTERVAL)
    _wake_at[0] = at
    from smsconsole.celery import app

    app.send_task(DRAIN_TASK, retry=False, countdown=at - now if at > now else None)


def message_ref(message_id):
    """The smsMsgId of a campaign message."""
    return f"m{message_id}"


# A skipped API message's report status, by its skip reason (the reference's platform codes for a
# blacklisted number and a frequency limit); any other rule: REJECTD.
STATUS_OF_SKIP = {"opt_out": "BLACK", "frequency_cap": "LIMIT"}
SKIP_DESCRIPTION = {"opt_out": "the number opted out", "frequency_cap": "over a frequency limit"}


def report(status, message_id, phone, segments, receipt_stat, error_code, error, done_at, skip_reason="",
           via_api=False, extend=None):  # fmt: skip
    """One status report as a dict of strings.

    An API send's report carries `extend` and `to` only when the request gave an extend (the
    reference's rule); a campaign's always carries `to`, since its customer has no smsMsgId from a
    send call to match on."""
    fields = {
        "smsMsgId": message_ref(message_id),
        "total": str(segments),
        # One report per message, sent when its outcome is known: it stands for the last segment.
        "sequence": str(segments),
        "status": receipt_stat or STATUS_WITHOUT_RECEIPT.get(status, "UNKNOWN"),
        "source": SOURCE_CARRIER if receipt_stat else SOURCE_PLATFORM,
    }
    if status == S.SKIPPED:
        fields["status"] = STATUS_OF_SKIP.get(skip_reason, "REJECTD")
        error = error or f"not sent: {SKIP_DESCRIPTION.get(skip_reason, skip_reason or 'a sending rule')}"
    if not via_api:
        fields["to"] = phone
    elif extend:
        fields["extend"] = extend
        fields["to"] = phone
    if receipt_stat and done_at:
        fields["updateTime"] = push.utc_time(done_at)  # absent when the platform made the report up
    if error:
        fields["statusDesc"] = error[:500]
    if error_code:
        fields["orgCode"] = error_code
    return fields


_OWED = (
    "SELECT d.id, d.application_id, d.url, d.per_message, d.status, c.account_id, "
    "m.id, m.phone, m.segments, m.receipt_stat, m.error_code, m.error, m.done_at, m.skip_reason, m.via_api, a.extend "
    "FROM campaigns_statusreportdue d "
    "JOIN campaigns_message m ON m.id = d.message_id "
    "JOIN campaigns_campaign c ON c.id = m.campaign_id "
    "LEFT JOIN campaigns_apimessage a ON a.message_id = m.id "
    "WHERE d.id IN (SELECT id FROM campaigns_statusreportdue ORDER BY id LIMIT %s{lock}) "
    "ORDER BY d.id"
)


def drain(limit=DRAIN_SIZE):
    """Turns up to `limit` owed reports into pushes; returns {"reports": n, "pushes": m}."""
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_OWED.format(lock=lock), [limit])
            rows = cursor.fetchall()
        if not rows:
            return {"reports": 0, "pushes": 0}
        requests = []
        batches = {}  # (account, application, url) → [(due id, report)]
        for due_id, application_id, url, per_message, status, account_id, *message in rows:
            fields = report(status, *message)
            if per_message:
                requests.append(
                    push.PushRequest(
                        Push.Kind.STATUS, account_id, application_id, url, fields, f"status:{message[0]}:{status}"
                    )
                )
            else:
                batches.setdefault((account_id, application_id, url), []).append((due_id, fields))
        for (account_id, application_id, url), reports in batches.items():
            for start in range(0, len(reports), BATCH_SIZE):
                chunk = reports[start : start + BATCH_SIZE]
                requests.append(
                    push.PushRequest(
                        Push.Kind.BATCH_STATUS,
                        account_id,
                        application_id,
                        url,
                        {"statusReportList": [fields for _id, fields in chunk]},
                        # Its first due row's id: each row is in one batch only, and is deleted with it.
                        f"batch_status:{chunk[0][0]}",
                        Push.Format.JSON,
                    )
                )
        push.enqueue_many(requests)
        with connection.cursor() as cursor:
            ids = [row[0] for row in rows]
            cursor.execute(f"DELETE FROM campaigns_statusreportdue WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)
    return {"reports": len(rows), "pushes": len(requests)}
