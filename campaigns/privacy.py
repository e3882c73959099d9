"""Retention and erasure of personal data in an account's messages, imports and lists.

Two retention periods (README, "Personal data"):
- the text rendered for a record (a message's variable values) is kept `Account.message_text_days`
  after the message was handed to the provider, then emptied (`Message.text_purged_at` says so);
- the numbers stay with their messages for SMS_STATISTICS_RETENTION_DAYS after the campaign
  finished; then the messages of finished campaigns are deleted. The campaign's counters and the
  hourly statistics (HourlyStat, which the statistics page reads instead of messages) keep the counts.

Both purges are set-based UPDATEs / DELETEs over id ranges of SMS_PURGE_CHUNK messages, each its own
short statement, and idempotent: a second run finds nothing left to change.

An erase (`manage.py erase_number`) takes one number out of one account. Messages keep their row
(the counters, the ledger and the statistics stay true) with the number replaced by ERASED_PREFIX
and the row id, which no real number can match. An opt-out survives as a keyed hash
(SuppressedNumber), so the erased person is still not messaged if a later file brings the number
back: mark_opted_out turns the hash back into an opt-out when the number reappears.
"""

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Max, Min, Q, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from campaigns.models import (
    Campaign,
    Contact,
    ListImportRejectedRow,
    Message,
    MessagePart,
    OptOut,
    Push,
    Recipient,
    RejectedRow,
    Reply,
    SuppressedNumber,
)
from sms import text
from smsconsole.models import Account

ERASED_PREFIX = "#"  # "#123": no E.164 number starts with it, and it is unique per message row


def _sent_time():
    """When a message was handed over (or, for one that never left, last moved)."""
    return Coalesce("submitted_at", "done_at", "updated_at")


def _id_ranges(queryset, chunk):
    bounds = queryset.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, chunk):
        yield start, start + chunk - 1


def purge_message_texts(now=None, chunk=None):
    """Empties the variables of handed-over messages past their account's text retention.
    Returns {"texts_purged": n}."""
    now = now or timezone.now()
    chunk = chunk or settings.SMS_PURGE_CHUNK
    purged = 0
    by_days = {}
    for account_id, days in Account.objects.values_list("pk", "message_text_days"):
        by_days.setdefault(days, []).append(account_id)
    for days, account_ids in sorted(by_days.items()):
        cutoff = now - timedelta(days=days)
        campaign_ids = Campaign.objects.filter(account_id__in=account_ids, planned_at__isnull=False).values("pk")
        todo = Message.objects.filter(campaign_id__in=campaign_ids, text_purged_at__isnull=True)
        for low, high in _id_ranges(todo, chunk):
            purged += (
                todo.filter(id__range=(low, high), status__in=Message.HANDED_OVER)
                .alias(sent=_sent_time())
                .filter(Q(sent__lt=cutoff) | Q(sent__isnull=True))
                .update(variables=[], text_purged_at=now)
            )
    return {"texts_purged": purged}


def purge_old_messages(now=None, chunk=None):
    """Deletes the final-state messages of campaigns finished more than SMS_STATISTICS_RETENTION_DAYS
    ago. Nothing moves such a message again (no receipt, sweeper or statistics writer), so the
    campaign's counters and HourlyStat rows already hold everything they say. Returns {"messages_deleted": n}."""
    now = now or timezone.now()
    chunk = chunk or settings.SMS_PURGE_CHUNK
    cutoff = now - timedelta(days=settings.SMS_STATISTICS_RETENTION_DAYS)
    campaign_ids = list(
        Campaign.objects.filter(finished_at__lt=cutoff, planned_at__isnull=False).values_list("pk", flat=True)
    )
    deleted = 0
    for start in range(0, len(campaign_ids), 1000):
        part = campaign_ids[start : start + 1000]
        todo = Message.objects.filter(campaign_id__in=part)
        for low, high in _id_ranges(todo, chunk):
            final = todo.filter(id__range=(low, high), status__in=Message.FINAL)
            # The segments of long messages first (their index leads with the message id).
            _raw_delete(MessagePart.objects.filter(message__id__range=(low, high), message__in=final))
            deleted += _raw_delete(final)
        # Marked after the deletes, so a run stopped half-way is simply run again.
        Campaign.objects.filter(pk__in=part, messages_purged_at__isnull=True).update(messages_purged_at=now)
    return {"messages_deleted": deleted + _purge_old_api_messages(now, cutoff, chunk)}


def _purge_old_api_messages(now, cutoff, chunk):
    """An application's hidden API campaign never finishes, so its messages go one by one: those in
    a final state handed over (or last moved) before the cutoff. Its counters keep what they said
    (as a finished campaign's do), and messages_purged_at says they no longer equal its rows."""
    deleted = 0
    for campaign_id in Campaign.objects.filter(source=Campaign.Source.API).values_list("pk", flat=True):
        todo = Message.objects.filter(campaign_id=campaign_id)
        gone = 0
        for low, high in _id_ranges(todo, chunk):
            old = (
                todo.filter(id__range=(low, high), status__in=Message.FINAL)
                .alias(sent=_sent_time())
                .filter(sent__lt=cutoff)
            )
            _raw_delete(MessagePart.objects.filter(message__id__range=(low, high), message__in=old))
            gone += _raw_delete(old)
        if gone:
            Campaign.objects.filter(pk=campaign_id).update(messages_purged_at=now)
        deleted += gone
    return deleted


def _raw_delete(queryset):
    # Nothing else cascades from a message (its parts are deleted first), so one DELETE without
    # Django's collector (which would load the rows).
    return queryset._raw_delete(queryset.db)


def record_text(message, pieces):
    """The text a record shows: the template's `pieces` rendered with the message's values, or
    None once the purge (or an erase) emptied them, which the page says instead of rendering the
    template with empty values."""
    if message.text_purged_at is not None:
        return None
    return text.render(pieces, message.variables)


def purge(now=None, chunk=None):
    return {**purge_message_texts(now, chunk), **purge_old_messages(now, chunk)}


# --- Erasing one number ----------------------------------------------------------------------


# What erase_number's summary keys mean, for its command's output.
SUMMARY_LABELS = {
    "messages": "messages anonymised (number replaced by #<id>, text emptied; counts kept)",
    "recipients": "recipient import rows deleted",
    "rejected_rows": "recipient import rejected rows deleted",
    "contacts": "contacts deleted",
    "list_rejected_rows": "contact/opt-out import rejected rows deleted",
    "opt_outs": "opt-outs replaced by a hashed suppression entry",
    "replies": "replies deleted",
    "pushes": "pushes (replies and status reports owed or sent) deleted",
}


def suppression_digest(account_id, phone):
    """A keyed hash of an E.164 number within one account: equal for the same number, useless
    without the deployment's SECRET_KEY."""
    key = f"{settings.SECRET_KEY}:suppression:{account_id}".encode()
    return hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()


def _digits(value):
    return "".join(char for char in str(value) if char.isdecimal())


def _holds_number(cells, phone):
    """Whether a stored rejected row's cells hold `phone` (written whole, nationally or with spaces)."""
    national = phone.lstrip("+")
    candidates = {national}
    if phone.startswith("+86"):
        candidates.add(phone[3:])
    return any(_digits(cell) in candidates or _digits(cell).endswith(national) for cell in cells if cell)


def _matching_rejected_rows(queryset, phone):
    tail = phone[-4:]  # a cheap filter in SQL, the exact test in Python
    rows = queryset.filter(cells__icontains=tail).values_list("pk", "cells")
    return [pk for pk, cells in rows if _holds_number(cells, phone)]


def erase_number(account, phone, dry_run=False, chunk=None):
    """Removes `phone` (E.164) from the account's messages, recipient imports, contact lists,
    opt-outs, replies and pushes. Returns {what: rows changed} (SUMMARY_LABELS names each); with
    dry_run, what would change."""
    chunk = chunk or settings.SMS_PURGE_CHUNK
    summary = {}
    with transaction.atomic():
        messages = Message.objects.filter(campaign__account=account, phone=phone)
        if dry_run:
            summary["messages"] = messages.count()
        else:
            # The marker embeds the row's id, so (campaign, phone) stays unique.
            ids = list(messages.values_list("pk", flat=True))
            for start in range(0, len(ids), chunk):
                Message.objects.filter(pk__in=ids[start : start + chunk]).update(
                    phone=_marker(), variables=[], text_purged_at=timezone.now()
                )
            summary["messages"] = len(ids)

        recipients = Recipient.objects.filter(recipient_import__account=account, phone=phone)
        summary["recipients"] = _delete(recipients, dry_run)
        rejected = _matching_rejected_rows(RejectedRow.objects.filter(recipient_import__account=account), phone)
        summary["rejected_rows"] = _delete(RejectedRow.objects.filter(pk__in=rejected), dry_run)
        contacts = Contact.objects.filter(contact_list__account=account, phone=phone)
        summary["contacts"] = _delete(contacts, dry_run)
        list_rejected = _matching_rejected_rows(
            ListImportRejectedRow.objects.filter(list_import__account=account), phone
        )
        summary["list_rejected_rows"] = _delete(ListImportRejectedRow.objects.filter(pk__in=list_rejected), dry_run)

        opt_outs = OptOut.objects.filter(account=account, phone=phone)
        opted_out = opt_outs.exists()
        summary["opt_outs"] = _delete(opt_outs, dry_run)
        if opted_out and not dry_run:
            SuppressedNumber.objects.get_or_create(account=account, digest=suppression_digest(account.pk, phone))

        summary["replies"] = _delete(Reply.objects.filter(account=account, phone=phone), dry_run)
        # A push carries the number in its body (a reply's "from", a status report's number);
        # its attempt log goes with it. A batch of status reports also carries other recipients'
        # reports, which must still be delivered: only this number's reports leave it.
        pushes = Push.objects.filter(account=account, body__icontains=phone.lstrip("+"))
        summary["pushes"] = _delete(pushes.exclude(kind=Push.Kind.BATCH_STATUS), dry_run)
        summary["pushes"] += _take_out_of_batches(pushes.filter(kind=Push.Kind.BATCH_STATUS), phone, dry_run)
        if dry_run:
            transaction.set_rollback(True)
    return summary


def _take_out_of_batches(batches, phone, dry_run):
    """Removes `phone`'s reports from batch status pushes (a batch left empty is deleted); returns
    how many pushes changed."""
    changed = 0
    for push in batches.select_for_update():
        reports = push.body.get("statusReportList", [])
        left = [report for report in reports if report.get("to") != phone]
        if len(left) == len(reports):
            continue  # the digits matched something else in the body
        changed += 1
        if dry_run:
            continue
        if left:
            push.body = {**push.body, "statusReportList": left}
            push.save(update_fields=["body"])
        else:
            push.delete()
    return changed


def _marker():
    return Concat(Value(ERASED_PREFIX), Cast("id", CharField()), output_field=CharField())


def _delete(queryset, dry_run):
    """Deletes the rows (and what cascades from them); returns how many of the queryset's own model."""
    if dry_run:
        return queryset.count()
    _total, by_model = queryset.delete()
    return by_model.get(queryset.model._meta.label, 0)


def restore_suppressed(account_id, phones):
    """The numbers among `phones` that an erase left as a hashed suppression entry become opt-outs
    again (the number is back in the account's data, brought by the account itself). Returns how many."""
    digests = set(SuppressedNumber.objects.filter(account_id=account_id).values_list("digest", flat=True))
    if not digests:
        return 0
    back = [phone for phone in set(phones) if suppression_digest(account_id, phone) in digests]
    OptOut.objects.bulk_create(
        [OptOut(account_id=account_id, phone=phone, source=OptOut.Source.MANUAL) for phone in back],
        ignore_conflicts=True,
    )
    return len(back)


def restore_suppressed_in_import(recipient_import):
    """restore_suppressed for an import's recipients; reads them only if the account has erased an
    opted-out number (rare), in chunks."""
    account_id = recipient_import.account_id
    if not SuppressedNumber.objects.filter(account_id=account_id).exists():
        return 0
    phones = Recipient.objects.filter(recipient_import=recipient_import).values_list("phone", flat=True)
    restored, batch = 0, []
    for phone in phones.iterator(chunk_size=10000):
        batch.append(phone)
        if len(batch) == 10000:
            restored += restore_suppressed(account_id, batch)
            batch = []
    return restored + restore_suppressed(account_id, batch)
