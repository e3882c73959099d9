"""Finished campaigns with messages in chosen states, for the results pages' tests.

Counters are set from the rows, as the engine keeps them, so reconcile_counters agrees unless a
test breaks them on purpose.
"""

import uuid
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from campaigns.models import Campaign, Message
from tests.campaign_helpers import create_campaign, create_completed_import, create_connection, create_order_setup

# (status, error_code, handed over) → a message's fields as the engine leaves them.
DELIVERED = ("delivered", "", True)
UNDELIVERED = ("failed", "001", True)  # the carrier's receipt said UNDELIV err:001
REFUSED = ("failed", "11", False)  # refused at the hand-over: ESME_RINVDSTADR
EXPIRED = ("expired", "", True)
UNKNOWN = ("unknown", "", False)
SKIPPED = ("skipped", "", False)


def message_fields(campaign, phone, outcome, at, variables=("A100", "张三")):
    status, code, handed_over = outcome
    fields = dict(
        campaign=campaign,
        connection_id=campaign.connection_id,
        phone=phone,
        variables=list(variables),
        status=status,
        error_code=code,
        updated_at=at,
        segments=1,
    )
    if handed_over:
        fields.update(provider_id=uuid.uuid4().hex, submitted_at=at)
    if status in ("delivered", "failed", "expired", "unknown"):
        fields["done_at"] = at + timedelta(seconds=5)
    if status == "skipped":
        fields["skip_reason"] = "opt_out"
    return fields


def finished_campaign(factories, account, application, outcomes, *, at=None, name="Spring sale", setup=None):
    """A completed campaign whose messages are `outcomes` in order (+8613800000000, +8613800000001, …)."""
    at = at or timezone.now() - timedelta(hours=1)
    if setup is None:
        connection = create_connection(name=f"sim-{Campaign.objects.count()}")
        signature, template = create_order_setup(factories, application, name=f"{name[:20]}")
    else:
        connection, template = setup
    recipients = create_completed_import(account, application, template)
    campaign = create_campaign(
        account,
        template,
        connection,
        recipient_import=recipients,
        name=name,
        status=Campaign.Status.COMPLETED,
        started_at=at - timedelta(minutes=1),
        planned_at=at - timedelta(minutes=1),
        finished_at=at + timedelta(minutes=1),
    )
    Message.objects.bulk_create(
        Message(**message_fields(campaign, f"+86138{n:08d}", outcome, at + timedelta(seconds=n)))
        for n, outcome in enumerate(outcomes)
    )
    sync_counters(campaign)
    campaign.refresh_from_db()
    return campaign


def sync_counters(campaign):
    """Counters and hourly statistics as the lifecycle would have left them for the rows written here."""
    sync_hourly(campaign)
    counted = dict(Message.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id")).order_by())
    Campaign.objects.filter(pk=campaign.pk).update(
        total=sum(counted.values()), **{name: counted.get(name, 0) for name in Campaign.COUNTERS}
    )


def sync_hourly(campaign):
    from campaigns.lifecycle import HOURLY_COLUMN, utc_hour
    from campaigns.models import HourlyStat

    HourlyStat.objects.filter(
        account_id=campaign.account_id,
        application_id=campaign.application_id,
        signature_id=campaign.signature_id,
        template_id=campaign.template_id,
    ).delete()
    rows = {}
    for message in Message.objects.filter(campaign=campaign, status__in=list(HOURLY_COLUMN)):
        hour = utc_hour(message.submitted_at or message.done_at or message.updated_at)
        row = rows.setdefault(
            hour, dict.fromkeys(("total", "sending", "delivered", "failed", "unknown", "segments"), 0)
        )
        row["total"] += 1
        row["segments"] += message.segments
        row[HOURLY_COLUMN[message.status]] += 1
    HourlyStat.objects.bulk_create(
        HourlyStat(
            account_id=campaign.account_id,
            application_id=campaign.application_id,
            signature_id=campaign.signature_id,
            template_id=campaign.template_id,
            type=campaign.template.type,
            hour=hour,
            **row,
        )
        for hour, row in rows.items()
    )
