"""Periodic and on-demand work of the results side."""

import logging

from celery import shared_task

from campaigns import push

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def deliver_pushes():
    """Delivers the due pushes, a claim at a time, until none is due or a minute has passed.

    Safe to run in several workers at once: each claim takes its rows (campaigns.push.claim_due),
    so no push is posted twice by two runs. Woken after each enqueue; beat runs it every 15 s for
    the retries that fall due.
    """
    from django.utils import timezone

    started = timezone.now()
    totals = {"claimed": 0, "delivered": 0, "retry": 0, "gave_up": 0}
    while True:
        counts = push.deliver_due()
        for name, value in counts.items():
            totals[name] += value
        if counts["claimed"] < push.CLAIM_SIZE or (timezone.now() - started).total_seconds() > 60:
            break
    if totals["claimed"]:
        log.info("pushes: %s", totals)
    return totals


@shared_task(ignore_result=True)
def push_status_reports():
    """Turns the owed status reports into pushes (campaigns.status_reports.drain), a thousand at a
    time, until none is owed or a minute has passed. Safe to run in several workers at once (each
    drain skips the rows another holds). Woken when reports are owed; beat runs it every 5 s."""
    from django.utils import timezone

    from campaigns import status_reports

    started = timezone.now()
    totals = {"reports": 0, "pushes": 0}
    while True:
        counts = status_reports.drain()
        for name, value in counts.items():
            totals[name] += value
        if counts["reports"] < status_reports.DRAIN_SIZE or (timezone.now() - started).total_seconds() > 60:
            break
    if totals["reports"]:
        log.info("status reports: %s", totals)
    return totals
