"""What a draft will send, before its operator presses the button (cloud-sms-spec.md 4.1-4.3).

Every figure is the one planning then makes, counted the way planning counts it, set-based: a
GROUP BY over the audience joined to the opt-out list as it is now (not as it was at import
time), so a million recipients are one grouped scan of an index, not a million rows in Python. What
planning cannot know either is labelled as such:
- frequency caps are applied when each message is sent; the preview counts the numbers that are
  over a cap right now (campaigns.frequency), which is what can be known before sending — each
  number up to CAP_SAMPLE recipients, an evenly spread sample scaled to the total beyond;
- prices follow the month's volume when each charge is taken; the preview prices the campaign
  at this month's volume now.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from redis.exceptions import RedisError

from campaigns import money, planning, quiet_hours, quotas
from campaigns.frequency import FrequencyCaps
from sms import text

DUPLICATE_REASONS = ("duplicate", "duplicate_different_variables")
# Up to this many recipients, every number is looked up in the frequency caps; beyond, a sample.
CAP_SAMPLE = 20_000

_FROM_IMPORT = (
    "SELECT CASE WHEN r.opted_out OR o.id IS NOT NULL THEN 1 ELSE 0 END, r.segments, COUNT(*) "
    "FROM campaigns_recipient r "
    "LEFT JOIN campaigns_optout o ON o.account_id = %s AND o.phone = r.phone "
    "WHERE r.recipient_import_id = %s GROUP BY 1, 2"
)
_FROM_CONTACTS = (
    "SELECT CASE WHEN o.id IS NOT NULL THEN 1 ELSE 0 END, 0, COUNT(*) "
    "FROM campaigns_contact c "
    "LEFT JOIN campaigns_optout o ON o.account_id = %s AND o.phone = c.phone "
    "WHERE c.contact_list_id = %s GROUP BY 1"
)
# The numbers planning queues, every k-th by id (k = 1: all of them).
_SAMPLE_IMPORT = (
    "SELECT r.phone FROM campaigns_recipient r "
    "LEFT JOIN campaigns_optout o ON o.account_id = %s AND o.phone = r.phone "
    "WHERE r.recipient_import_id = %s AND NOT r.opted_out AND o.id IS NULL AND r.id %% %s = 0"
)
_SAMPLE_CONTACTS = (
    "SELECT c.phone FROM campaigns_contact c "
    "LEFT JOIN campaigns_optout o ON o.account_id = %s AND o.phone = c.phone "
    "WHERE c.contact_list_id = %s AND o.id IS NULL AND c.id %% %s = 0"
)


@dataclass
class Preview:
    recipients: int  # messages planning creates (queued and skipped)
    invalid: int  # rows of the file refused at import (not a number, values that do not fit)
    duplicates: int  # rows of the file whose number came earlier
    opted_out: int  # on the opt-out list now: planning skips them
    over_cap: int | None  # over a frequency cap now (None: Redis could not be asked)
    over_cap_estimated: bool  # from a sample of the recipients, scaled to all of them
    to_send: int  # messages planning queues
    segments: int  # their segments
    per_recipient: list = field(default_factory=list)  # (segments, messages), ascending
    encodings: list = field(default_factory=list)  # (encoding, messages)
    category: str = ""
    cost: Decimal = Decimal(0)  # at this month's tier
    balance: Decimal = Decimal(0)
    balance_after: Decimal = Decimal(0)
    quota_room: int | None = None  # messages today's and this month's quotas still allow
    tps: int = 0
    requested_at: datetime | None = None  # now, or the time the campaign is scheduled for
    starts_at: datetime | None = None  # when its first message may go (promotions wait for the window)
    finishes_at: datetime | None = None
    send_seconds: float | None = None  # at the connection's rate, without waiting for the window

    @property
    def waits_for_window(self):
        return self.starts_at is not None and self.requested_at is not None and self.starts_at > self.requested_at

    @property
    def over_quota(self):
        return None if self.quota_room is None else max(self.to_send - self.quota_room, 0)


def build(campaign, now=None):
    """The preview of a draft whose audience is ready (a completed import or a contact list)."""
    now = now or timezone.now()
    account_id = campaign.account_id
    message_type = campaign.template.type
    shared = planning.uses_shared_variables(campaign) or not campaign.recipient_import_id
    shared_segments = planning.shared_segments(campaign) if shared else None

    with connection.cursor() as cursor:
        if campaign.recipient_import_id:
            cursor.execute(_FROM_IMPORT, [account_id, campaign.recipient_import_id])
        else:
            cursor.execute(_FROM_CONTACTS, [account_id, campaign.contact_list_id])
        groups = cursor.fetchall()
    recipients = sum(count for _skip, _segments, count in groups)
    opted_out = sum(count for skip, _segments, count in groups if skip)
    per_recipient = {}
    for skip, segments, count in groups:
        if not skip:
            segments = shared_segments if shared else segments
            per_recipient[segments] = per_recipient.get(segments, 0) + count
    to_send = recipients - opted_out
    total_segments = sum(segments * count for segments, count in per_recipient.items())

    invalid = duplicates = 0
    imp = campaign.recipient_import if campaign.recipient_import_id else None
    if imp is not None:
        duplicates = sum(imp.reason_counts.get(reason, 0) for reason in DUPLICATE_REASONS)
        invalid = max(imp.rejected - duplicates, 0)

    encodings = _encodings(campaign, shared, to_send)
    category = money.category_of(message_type)
    cost = money.price_of(category, total_segments, money.month_volume(account_id, category, now))
    balance = money.balance(campaign.account)

    requested_at = max(campaign.scheduled_at or now, now)
    hours = quiet_hours.hours_of(account_id)
    zone = campaign.account.timezone
    starts_at = quiet_hours.next_opening(requested_at, zone, message_type, hours)
    tps = campaign.connection.tps
    send_seconds = finishes_at = None
    if tps and to_send:
        send_seconds = total_segments / tps
        finishes_at = quiet_hours.finish_time(requested_at, send_seconds, zone, message_type, hours)

    over_cap, over_cap_estimated = _over_cap(campaign, message_type, shared, to_send, now)
    return Preview(
        recipients=recipients,
        invalid=invalid,
        duplicates=duplicates,
        opted_out=opted_out,
        over_cap=over_cap,
        over_cap_estimated=over_cap_estimated,
        to_send=to_send,
        segments=total_segments,
        per_recipient=sorted(per_recipient.items()),
        encodings=encodings,
        category=category,
        cost=cost,
        balance=balance,
        balance_after=balance - cost,
        quota_room=quotas.room(account_id, now),
        tps=tps,
        requested_at=requested_at,
        starts_at=starts_at,
        finishes_at=finishes_at,
        send_seconds=send_seconds,
    )


def _encodings(campaign, shared, to_send):
    """[(encoding, messages)]. Every signed text is UCS-2 (【】 are not GSM-7), so a campaign's
    fixed text decides for all its messages; only a GSM-7 one (no signature) would need each
    recipient's values, counted then one by one."""
    pieces = planning.campaign_text(campaign)
    if not to_send:
        return []
    if not all(text.is_gsm7(piece) for piece in pieces):
        return [(text.UCS2, to_send)]
    if shared:
        return [(text.count_segments(text.render(pieces, campaign.shared_variables)).encoding, to_send)]
    from campaigns.models import OptOut, Recipient

    rows = Recipient.objects.filter(recipient_import_id=campaign.recipient_import_id, opted_out=False).exclude(
        phone__in=OptOut.objects.filter(account_id=campaign.account_id).values("phone")
    )
    found = {}
    for variables in rows.values_list("variables", flat=True).iterator(chunk_size=5000):
        encoding = text.count_segments(text.render(pieces, variables)).encoding
        found[encoding] = found.get(encoding, 0) + 1
    return sorted(found.items())


def _over_cap(campaign, message_type, shared, to_send, now):
    """(recipients to send to that are over a frequency cap right now, whether that was estimated);
    (None, False) when Redis cannot answer. Each number costs a Redis lookup, so beyond CAP_SAMPLE
    recipients an evenly spread sample (every k-th recipient id) is looked up and scaled."""
    if not to_send:
        return 0, False
    content = text.render(planning.campaign_text(campaign), campaign.shared_variables) if shared else None
    step = max(math.ceil(to_send / CAP_SAMPLE), 1)
    if campaign.recipient_import_id:
        sql, owner = _SAMPLE_IMPORT, campaign.recipient_import_id
    else:
        sql, owner = _SAMPLE_CONTACTS, campaign.contact_list_id
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign.account_id, owner, step])
        phones = [phone for (phone,) in cursor.fetchall()]
    try:
        caps = FrequencyCaps.for_account(campaign.account_id)
        over = len(caps.numbers_over_cap(phones, message_type, content, now.timestamp()))
    except RedisError:
        return None, False
    if step == 1 or not phones:
        return over, False
    return round(over * to_send / len(phones)), True
