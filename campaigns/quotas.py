"""Daily and monthly quotas (通用设置 预警值 / 限额值, cloud-sms-spec.md 4.1): the one owner of them.

An account's totals are counted in messages per day and per month of its own clock, one
QuotaUsage row per period, locked while a reservation moves it, so concurrent senders (campaign
batches, the API) can never together pass a limit. A sender reserves before it hands messages
over and releases what it then did not send:

    granted = quotas.reserve(account_id, len(batch))   # may be less than asked: hold the rest
    ...
    quotas.release(account_id, not_sent, reserved_at)

Crossing the alert threshold tells the account's notification contacts (their traffic toggle)
once per period by email, and by SMS those who turned that on (campaigns.notices); reaching the
limit tells them too, and from then on reserve() grants nothing until the period ends, so the
caller holds its campaign with that reason.
"""

import logging
import zoneinfo
from datetime import date

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.models.limits import AccountLimits, QuotaUsage
from smsconsole.models import Account

log = logging.getLogger(__name__)

ALERT, LIMIT = "alert", "limit"


def period_starts(zone, now=None):
    """{period: its first day} for the day and the month `now` falls in on the clock of `zone`."""
    local = (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(zone))
    return {QuotaUsage.Period.DAY: local.date(), QuotaUsage.Period.MONTH: date(local.year, local.month, 1)}


def _zone(account_id):
    return Account.objects.filter(pk=account_id).values_list("timezone", flat=True).get()


def _locked_rows(account_id, now, zone=None):
    """The account's usage rows of the periods `now` falls in, created if missing and locked (in
    period order, so two reservations never wait on each other crosswise)."""
    starts = period_starts(zone or _zone(account_id), now)
    rows = QuotaUsage.objects.select_for_update().filter(_current(starts), account_id=account_id).order_by("period")
    locked = list(rows)
    if len(locked) == len(starts):
        return locked  # nearly always: the rows exist from the period's first reservation on
    # The first reservation of a day or month: ignore_conflicts lets a concurrent first one win.
    QuotaUsage.objects.bulk_create(
        [QuotaUsage(account_id=account_id, period=period, starts_on=day) for period, day in starts.items()],
        ignore_conflicts=True,
    )
    return list(rows.all())


def _current(starts):
    """A Q over QuotaUsage: the rows of the periods in `starts` (period_starts)."""
    current = Q()
    for period, day in starts.items():
        current |= Q(period=period, starts_on=day)
    return current


def reserve(account_id, n, now=None, limits=None, zone=None):
    """Reserves up to `n` messages of today's and this month's quotas; returns how many were
    granted (less than `n` once a limit is reached, 0 while it stays reached). `limits` (the
    account's AccountLimits) and `zone` (its timezone) save their queries when the caller has them:
    the gateway reserves for every chunk."""
    if n <= 0:
        return 0
    now = now or timezone.now()
    limits = limits or AccountLimits.of(account_id)
    if all(value is None for period in QuotaUsage.Period for value in limits.quota(period)):
        # No limit and no alert: nothing to decide, only to count. One UPDATE of both rows (it locks
        # them as the path below does) instead of reading them locked first; the first reservation
        # of a period, whose rows do not exist yet, goes the long way and creates them.
        starts = period_starts(zone or _zone(account_id), now)
        with transaction.atomic():
            rows = QuotaUsage.objects.filter(_current(starts), account_id=account_id)
            if rows.update(used=F("used") + n) == len(starts):
                return n
            transaction.set_rollback(True)  # one row of two moved: undone, and counted below
    with transaction.atomic():
        rows = _locked_rows(account_id, now, zone)
        granted = n
        for row in rows:
            _alert, limit = limits.quota(row.period)
            if limit is not None:
                granted = min(granted, max(limit - row.used, 0))
        for row in rows:
            alert, limit = limits.quota(row.period)
            fields = {"used": row.used + granted}
            if alert is not None and row.alerted_at is None and row.used + granted >= alert:
                fields["alerted_at"] = now
                _queue_mail(row.pk, ALERT)
            # Only the period whose limit is used up: a short grant may be the other period's doing.
            if limit is not None and row.limited_at is None and row.used + granted >= limit:
                fields["limited_at"] = now
                _queue_mail(row.pk, LIMIT)
            if granted or len(fields) > 1:
                QuotaUsage.objects.filter(pk=row.pk).update(**fields)
    return granted


def release(account_id, n, reserved_at=None):
    """Gives back `n` reserved messages that were not sent, to the periods they were reserved in.
    Alerts already sent stay sent: a period warns once."""
    if n <= 0:
        return
    with transaction.atomic():
        for row in _locked_rows(account_id, reserved_at or timezone.now()):
            QuotaUsage.objects.filter(pk=row.pk).update(used=max(row.used - n, 0))


def usage(account_id, now=None):
    """{period: messages used} for the current day and month (0 for a period with no row yet)."""
    starts = period_starts(_zone(account_id), now)
    used = {period: 0 for period in starts}
    for row in QuotaUsage.objects.filter(account_id=account_id, starts_on__in=set(starts.values())):
        if starts[row.period] == row.starts_on:
            used[row.period] = row.used
    return used


def room(account_id, now=None):
    """Messages that may still be reserved now, or None when the account sets no limit."""
    limits, used = AccountLimits.of(account_id), usage(account_id, now)
    left = [limits.quota(period)[1] - count for period, count in used.items() if limits.quota(period)[1] is not None]
    return max(min(left), 0) if left else None


# --- Mail ----------------------------------------------------------------------------------------


def _queue_mail(usage_id, kind):
    from campaigns.tasks import notify_quota

    transaction.on_commit(lambda: notify_quota.delay(usage_id, kind))


def _render(row, limits, kind, contact, language):
    alert, limit = limits.quota(row.period)
    with translation.override(language):
        context = {
            "account": row.account,
            "contact": contact,
            "kind": kind,
            "daily": row.period == QuotaUsage.Period.DAY,
            "starts_on": row.starts_on,
            "used": row.used,
            "threshold": alert if kind == ALERT else limit,
            "console_url": settings.CONSOLE_URL.rstrip("/") + reverse("campaigns:sending_settings"),
        }
        subject = render_to_string(f"campaigns/email/quota_subject.{language}.txt", context)
        body = render_to_string(f"campaigns/email/quota.{language}.txt", context)
    return " ".join(subject.split()), body.strip()


def send_mail(usage_id, kind):
    """Mails the account's traffic contacts that a period crossed its alert threshold or reached
    its limit; once per period and kind, however often the task runs."""
    from templates_app.models import NotificationContact
    from templates_app.notifications import bilingual_messages

    claimed_field = {ALERT: "alert_mailed_at", LIMIT: "limit_mailed_at"}[kind]
    claimed = QuotaUsage.objects.filter(pk=usage_id, **{f"{claimed_field}__isnull": True}).update(
        **{claimed_field: timezone.now()}
    )
    if not claimed:
        return {"usage": usage_id, "kind": kind, "sent": 0, "skipped": "already_mailed"}
    row = QuotaUsage.objects.select_related("account").get(pk=usage_id)
    limits = AccountLimits.of(row.account_id)
    contacts = NotificationContact.objects.filter(account_id=row.account_id, notify_traffic=True)
    messages = bilingual_messages(contacts, lambda contact, language: _render(row, limits, kind, contact, language))
    sent = get_connection().send_messages(messages) if messages else 0
    log.info("quota %s of account %s (%s %s): %s mails", kind, row.account_id, row.period, row.starts_on, sent)
    # The traffic contacts who asked for it hear the same by SMS (campaigns.notices; no quota used).
    from campaigns import notices

    subject, _body = _render(row, limits, kind, None, settings.SMS_NOTICE_LANGUAGE)
    notice = notices.tell_quota(row, kind, subject)
    return {"usage": usage_id, "kind": kind, "sent": sent or 0, "sms": notice.recipients if notice else 0}
