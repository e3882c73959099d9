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
