"""When an answer to a service application is due, by the review hours of the cloud services:
applications submitted on a workday before 18:00 GMT+8 are reviewed the same day (those before
09:00 wait for the day's review hours to open), later ones on the next workday.

No Django here: a pure function of the submission time and the holidays, so its edges are tested
directly. Holidays are dates in GMT+8; make-up working days on a weekend (调休) are not modelled.
"""

from datetime import datetime, time, timedelta, timezone

REVIEW_ZONE = timezone(timedelta(hours=8), "GMT+8")
OPENS = time(9)
CLOSES = time(18)


def is_workday(day, holidays=frozenset()):
    return day.weekday() < 5 and day not in holidays


def answer_due(submitted_at, holidays=frozenset()):
    """The end of the review day (18:00 GMT+8, aware) that answers an application submitted at the
    aware datetime `submitted_at`; 18:00 exactly already belongs to the next workday."""
    if submitted_at.tzinfo is None:
        raise ValueError("submitted_at must be an aware datetime")
    local = submitted_at.astimezone(REVIEW_ZONE)
    day = local.date()
    if not is_workday(day, holidays) or local.time() >= CLOSES:
        day += timedelta(days=1)
        while not is_workday(day, holidays):
            day += timedelta(days=1)
    return datetime.combine(day, CLOSES, REVIEW_ZONE)
