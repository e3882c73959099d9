"""When promotions may go out: 08:00 to 22:00 on the account's clock (cloud-sms-spec.md 4.2).

The one owner of that rule: the campaign form, planning, the gateway and the API all ask here.
Verification codes and notifications have no such window. An account may narrow the window on
its settings page (AccountLimits.promotion_hours, read by hours_of); never widen it.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

PROMOTION_HOURS = (8, 22)


def hours_of(account_id, limits=None):
    """The promotion window the account set, or the carriers' (start hour, end hour); `limits`:
    the account's AccountLimits when the caller has read them already."""
    from campaigns.models.limits import AccountLimits

    return (limits or AccountLimits.of(account_id)).promotion_hours


def _local(moment, zone):
    return moment.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)


def is_open(moment, zone, message_type="promotion", hours=PROMOTION_HOURS):
    if message_type != "promotion":
        return True
    start, end = hours
    return start <= _local(moment, zone).hour < end


def next_opening(moment, zone, message_type="promotion", hours=PROMOTION_HOURS):
    """`moment` itself when the window is open, else when it next opens (an aware datetime)."""
    if is_open(moment, zone, message_type, hours):
        return moment
    local = _local(moment, zone)
    start, _end = hours
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    return datetime.combine(day, time(start), tzinfo=local.tzinfo)


def finish_time(moment, seconds, zone, message_type="promotion", hours=PROMOTION_HOURS):
    """When `seconds` of sending that may start at `moment` ends, sending only while the window
    is open (for an ETA: a promotion too long for one evening goes on the next morning)."""
    if message_type != "promotion":
        return moment + timedelta(seconds=seconds)
    left, at = float(seconds), next_opening(moment, zone, message_type, hours)
    while True:
        local = _local(at, zone)
        closes = datetime.combine(local.date(), time(hours[1]), tzinfo=local.tzinfo)
        # Timestamps, not aware datetimes: those subtract by wall clock within one zone (DST).
        open_for = closes.timestamp() - at.timestamp()
        if left <= open_for:
            return datetime.fromtimestamp(at.timestamp() + left, tz=at.tzinfo)
        left -= open_for
        at = next_opening(closes, zone, message_type, hours)
