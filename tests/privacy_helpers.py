"""Builders for the personal-data tests: a planned campaign with messages in chosen states and times."""

from datetime import timedelta

from django.utils import timezone

from tests.sending_helpers import create_campaign, create_connection


def create_sent_campaign(factories, account, rows, *, finished_days_ago=None, name="Spring"):
    """A planned campaign of `account` with one message per (phone, status, days_ago) in `rows`,
    sent (submitted_at) that many days ago."""
    from campaigns.models import Message

    application = factories.create_application(account, f"{name} app")
    template = factories.create_template(application, signature=factories.create_signature(application, name=name))
    connection = create_connection(name=f"{name}-{account.pk}")
    now = timezone.now()
    campaign = create_campaign(
        application,
        template,
        connection,
        [phone for phone, *_rest in rows],
        status="completed" if finished_days_ago is not None else "running",
        name=name,
        planned_at=now - timedelta(days=60),
        started_at=now - timedelta(days=60),
        finished_at=None if finished_days_ago is None else now - timedelta(days=finished_days_ago),
        total=len(rows),
        delivered=len(rows),
    )
    Message.objects.bulk_create(
        Message(
            campaign=campaign,
            connection=connection,
            phone=phone,
            variables=[f"order-{index}"],
            status=status,
            provider_id=f"p{index}" if status in ("submitted", "delivered") else None,
            submitted_at=None if status in ("queued", "skipped") else now - timedelta(days=days_ago),
            updated_at=now - timedelta(days=days_ago),
        )
        for index, (phone, status, days_ago) in enumerate(rows)
    )
    return campaign
