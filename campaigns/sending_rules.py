"""The rules checked again when each chunk is sent (issue 11): the one place the gateway asks.

Planning checked them once; by the time a chunk goes out a number may have opted out, a cap may
have filled, the promotion hours may have closed, the quota or the balance may have run out. The
gateway hands every chunk of queued messages to `claim` (in its DB thread) instead of claiming
them itself, and submits only what comes back. In order:

- quiet hours (campaigns.quiet_hours): a promotion outside the account's window holds the whole
  campaign (paused, reason quiet_hours, resume_at the next opening); nothing is claimed;
- opt-outs, read now: an opted-out number is skipped with the reason opt_out;
- frequency caps (campaigns.frequency): a message over a cap is skipped with that reason, never
  delayed; the caps record only what is then actually claimed and charged;
- quota (campaigns.quotas): what the quota cannot grant stays queued and the campaign is held
  (reason quota, resume_at the next day or month of the account's clock);
- balance (campaigns.money): the longest prefix the balance covers exactly is claimed and charged
  in one transaction; the rest stays queued and the campaign is held (reason balance) until a
  top-up resumes it (money.top_up calls `resume_after_top_up`). Holding it, or a charge that
  takes the balance below SMS_BALANCE_ALERT, tells the traffic contacts (campaigns.notices,
  once a day each).

A held campaign's messages stay queued (the lifecycle owns every move), so nothing is lost, sent
twice or charged twice; the gateway sees the pause before its next chunk and hands the batch back.
`record` writes the submit results and gives back the money and quota of the messages that did
not go out (refused at submit, or put back in the queue to be sent, and charged, again later).
"""

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from campaigns import frequency, lifecycle, money, notices, quiet_hours, quotas
from campaigns.models import Campaign, Message, OptOut
from campaigns.models.limits import AccountLimits, QuotaUsage
from sms import text

log = logging.getLogger(__name__)

OPT_OUT = lifecycle.OPT_OUT
FREQUENCY_CAP = frequency.OVER_CAP
HELD = Campaign.PauseReason


@dataclass
class Verdict:
    attempts: dict = field(default_factory=dict)  # claimed message id -> attempts (what to submit)
    skipped: dict = field(default_factory=dict)  # reason -> ids skipped
    hold: str = ""  # the PauseReason the campaign was held with, if any
    resume_at: datetime | None = None
    # The campaign's status as the claim read it (None: no such campaign), paused if this claim
    # held it: the gateway stops the batch on anything but running without a query of its own.
    status: str | None = None
    texts: dict = field(default_factory=dict)  # message id -> its rendered text (what the caps counted)


def claim(campaign_id, chunk, pieces=None, now=None):
    """Applies the send-time rules to `chunk` ((id, phone, variables, segments) of queued
    messages, in id order) and claims what may go out; returns a Verdict."""
    now = now or timezone.now()
    verdict = Verdict()
    campaign = _claim_campaigns(pieces is None).filter(pk=campaign_id).first()
    verdict.status = campaign.status if campaign is not None else None
    if verdict.status != Campaign.Status.RUNNING or not chunk:
        return verdict
    account, message_type = campaign.account, campaign.template.type
    # Read once for the hours, the caps and the quota: the gateway claims every chunk here.
    limits = AccountLimits.of(account.pk, account)

    # Quiet hours: the whole campaign waits; never dropped.
    hours = quiet_hours.hours_of(account.pk, limits)
    if not quiet_hours.is_open(now, account.timezone, message_type, hours):
        _hold(
            verdict, campaign_id, HELD.QUIET_HOURS, quiet_hours.next_opening(now, account.timezone, message_type, hours)
        )
        return verdict

    rows = list(chunk)
    opted = _opted_out(account.pk, [r[1] for r in rows])
    rows = _skip(verdict, campaign_id, rows, lambda r: r[1] in opted, OPT_OUT)

    if pieces is None:
        from campaigns import planning

        pieces = planning.campaign_text(campaign)
    caps = frequency.FrequencyCaps.for_account(account.pk, limits=limits)
    # One call checks the caps and records what is under them (a concurrent sender's records
    # count); what is then not claimed (the quota or the balance cut it, the claim failed) is
    # withdrawn below, so the caps keep only what actually went out.
    messages = [(r[0], r[1], message_type, text.render(pieces, r[2])) for r in rows]
    verdict.texts = {message[0]: message[3] for message in messages}
    admitted = caps.admit(messages, now=now.timestamp())
    recorded = [message for message, ok in zip(messages, admitted, strict=True) if ok]
    capped = {r[0] for r, ok in zip(rows, admitted, strict=True) if not ok}
    rows = _skip(verdict, campaign_id, rows, lambda r: r[0] in capped, FREQUENCY_CAP)
    if not rows:
        return verdict

    # The claim needs the campaign running: a hold these rules call for comes after it.
    hold = None
    # The system account's notices to contacts (campaigns.notices) use no quota and cost
    # nothing; opt-outs and caps above hold for them as for anyone.
    billed = not account.is_system
    reserved = 0
    # Whatever is not claimed gives its quota and its cap records back, also when something below
    # raises (a database error in the claim): the job runs again and reserves and records again.
    try:
        granted = quotas.reserve(account.pk, len(rows), now, limits, account.timezone) if billed else len(rows)
        reserved = granted if billed else 0
        if granted < len(rows):
            hold = (HELD.QUOTA, _next_period(account.pk, account.timezone, now))
            rows = rows[:granted]

        if billed and rows:
            # The balance as the campaign's query read it a moment ago and the month's volume read
            # now, before any lock: only a hint of how many rows to try. The charge below prices them
            # from the volume under the account's lock and is compare-and-set on the balance, so a
            # concurrent charge can neither overdraw it nor be priced from the same volume; a claim
            # the true price is not covered for rolls back (InsufficientBalance, below). A balance
            # that covers the chunk at the dearest tier needs no hint (nearly every chunk).
            category = money.category_of(message_type)
            if account.balance < money.most_for(category, sum(r[3] for r in rows)):
                volume = money.month_volume(account.pk, category, now)
                affordable = _affordable(rows, account.balance, category, volume)
                if affordable < len(rows):
                    hold = hold or (HELD.BALANCE, None)
                    rows = rows[:affordable]

        if rows:
            try:
                with transaction.atomic():
                    attempts = lifecycle.claim(campaign_id, [r[0] for r in rows])
                    segments = sum(r[3] for r in rows if r[0] in attempts)
                    if segments and billed:
                        entry = money.charge(account.pk, message_type, segments, campaign_id=campaign_id)
                        if entry is not None and _crossed_alert(entry):
                            notices.queue_balance(account.pk, notices.BALANCE_LOW)
                verdict.attempts = attempts  # only once committed: a rolled-back claim holds nothing
            except money.InsufficientBalance:
                verdict.attempts = {}  # a concurrent charge took the balance first: the claim rolled back
                hold = hold or (HELD.BALANCE, None)
    finally:
        if billed:
            quotas.release(account.pk, reserved - len(verdict.attempts), now)
        _withdraw(caps, [message for message in recorded if message[0] not in verdict.attempts])
    if hold:
        _hold(verdict, campaign_id, *hold)
        if verdict.hold == HELD.BALANCE:
            notices.queue_balance(account.pk, notices.BALANCE_INSUFFICIENT)
    return verdict


@functools.cache
def _claim_campaigns(with_text):
    """The campaign query of a claim. The gateway claims every chunk here with the template's
    pieces in hand, so it reads only the columns the rules use (instantiating the four rows whole
    took about twice as long as the query); `with_text` reads what planning.campaign_text needs."""
    if with_text:
        return Campaign.objects.select_related("account__limits", "template", "signature")
    limits = [f"account__limits__{field.name}" for field in AccountLimits._meta.concrete_fields]
    columns = ("status", "account__balance", "account__is_system", "account__timezone", "template__type")
    return Campaign.objects.select_related("account__limits", "template").only(*columns, *limits)


def _opted_out(account_id, phones):
    """The numbers among `phones` the account's opt-outs hold. On PostgreSQL the numbers are one
    array parameter, as lifecycle.by_ids passes ids: an IN of a chunk's 400 placeholders is
    compiled by Django and re-split by psycopg for every chunk."""
    if connection.vendor != "postgresql":
        return set(OptOut.objects.filter(account_id=account_id, phone__in=phones).values_list("phone", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT phone FROM {OptOut._meta.db_table}"
            " WHERE account_id = %s AND phone = ANY(CAST(%s AS VARCHAR(16)[]))",
            [account_id, lifecycle.pg_array(phones)],
        )
        return {phone for (phone,) in cursor.fetchall()}


def _withdraw(caps, messages):
    # After a committed claim an error here must not lose the verdict (its messages would wait in
    # SENDING until the sweeper marks them unknown): a record left behind only counts a message
    # that was not sent against its number until its window passes.
    try:
        caps.withdraw(messages)
    except (RedisError, OSError) as error:
        log.warning("frequency caps: %s records of unsent messages left (%s)", len(messages), error)


def _crossed_alert(entry):
    """The charge took the balance below SMS_BALANCE_ALERT (it was at or above it before)."""
    threshold = Decimal(settings.SMS_BALANCE_ALERT)
    return threshold > 0 and entry.balance_after < threshold <= entry.balance_after - entry.amount


def _skip(verdict, campaign_id, rows, test, reason):
    ids = [r[0] for r in rows if test(r)]
    if ids:
        lifecycle.skip(campaign_id, ids, reason)
        verdict.skipped.setdefault(reason, []).extend(ids)
    return [r for r in rows if not test(r)]


def _hold(verdict, campaign_id, reason, resume_at=None):
    if not verdict.hold and Campaign.hold(campaign_id, reason, resume_at):
        verdict.hold, verdict.resume_at = reason, resume_at
        verdict.status = Campaign.Status.PAUSED


def _affordable(rows, balance, category, volume):
    """How many of `rows`, in order, the balance pays for exactly (tier prices included).

    A price only grows with the segments, so the longest affordable prefix is found by bisection:
    a chunk the balance covers whole (nearly every chunk) costs one price, not one per message."""
    totals = list(accumulate(row[3] for row in rows))
    if not totals or money.price_of(category, totals[-1], volume) <= balance:
        return len(totals)
    low, high = 0, len(totals) - 1  # the first `low` rows are affordable; row `high` is not
    while low < high:
        middle = (low + high) // 2
        if money.price_of(category, totals[middle], volume) <= balance:
            low = middle + 1
        else:
            high = middle
    return low


def _next_period(account_id, zone, now):
    """When the quota that ran out renews: the next day if today's limit is reached, else the next month."""
    limits, used = AccountLimits.of(account_id), quotas.usage(account_id, now)
    local = now.astimezone(ZoneInfo(zone))
    _alert, daily = limits.quota(QuotaUsage.Period.DAY)
    if daily is not None and used[QuotaUsage.Period.DAY] >= daily:
        day = local.date() + timedelta(days=1)
    else:
        day = (local.date().replace(day=1) + timedelta(days=32)).replace(day=1)
    return datetime.combine(day, time(0), tzinfo=local.tzinfo)


# --- after the submit ------------------------------------------------------------------------


def record(campaign_id, record_submits, failed_ids, requeued_ids):
    """Runs `record_submits` (lifecycle.record_submits with the chunk's results) and, in the same
    transaction, refunds and releases the quota of the messages it moves back to queued (they are
    charged again when sent) or fails at submit (SMS_REFUND_POLICY: both readings refund a refusal
    at submit, which the carrier never delivered). Retried safely: only rows still sending count."""
    ids = [*failed_ids, *requeued_ids]
    with transaction.atomic():
        moving = list(
            Message.objects.select_for_update()
            .filter(pk__in=ids, status=Message.Status.SENDING)
            .values_list("segments", flat=True)
        )
        deltas = record_submits()
        campaign = Campaign.objects.select_related("template", "account").get(pk=campaign_id) if moving else None
        if moving and not campaign.account.is_system:
            money.refund(campaign.account_id, campaign.template.type, sum(moving), campaign_id, note="not sent")
            quotas.release(campaign.account_id, len(moving))
    return deltas


# --- resuming --------------------------------------------------------------------------------


def resume_held(now=None):
    """Resumes the campaigns held by quiet hours or a quota whose resume_at has come, and those held
    by a quota whose limit has since been raised (the beat task resume_held_campaigns); a rule that
    still applies holds them again at their next chunk. Returns the ids resumed."""
    now = now or timezone.now()
    held = Campaign.objects.filter(status=Campaign.Status.PAUSED, pause_reason__in=[HELD.QUIET_HOURS, HELD.QUOTA])
    resumed = []
    for campaign in held:
        due = campaign.resume_at is not None and campaign.resume_at <= now
        if not due and campaign.pause_reason == HELD.QUOTA:
            room = quotas.room(campaign.account_id, now)
            due = room is None or room > 0
        if due and _resume(campaign):
            resumed.append(campaign.pk)
    return resumed


def resume_after_top_up(account_id):
    """The account's campaigns held for their balance send on (money.top_up, once committed)."""
    held = Campaign.objects.filter(account_id=account_id, status=Campaign.Status.PAUSED, pause_reason=HELD.BALANCE)
    return [campaign.pk for campaign in held if _resume(campaign)]


def _resume(campaign):
    from smsconsole.models import TransitionError

    try:
        with transaction.atomic():
            campaign.resume()
    except TransitionError:
        return False
    return True


__all__ = ["FREQUENCY_CAP", "OPT_OUT", "Verdict", "claim", "record", "resume_after_top_up", "resume_held"]
