"""When promotions may go out: 08:00 to 22:00 on the account's clock (cloud-sms-spec.md 4.2).

The one owner of that rule: the campaign form, planning, the gateway and the API all ask here.
Verification codes and notifications have no such window.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

PROMOTION_HOURS = (8, 22)


def _local(moment, zone):
    return moment.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)


def is_open(moment, zone, message_type="promotion"):
    if message_type != "promotion":
        return True
    start, end = PROMOTION_HOURS
    return start <= _local(moment, zone).hour < end


def next_opening(moment, zone, message_type="promotion"):
    """`moment` itself when the window is open, else when it next opens (an aware datetime)."""
    if is_open(moment, zone, message_type):
        return moment
    local = _local(moment, zone)
    start, _end = PROMOTION_HOURS
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    return datetime.combine(day, time(start), tzinfo=local.tzinfo)
