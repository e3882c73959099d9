"""API messages follow the statistics retention too: their hidden campaign never finishes, so the
purge takes its final messages one by one once they are older than SMS_STATISTICS_RETENTION_DAYS
(campaigns.privacy); a message a receipt may still move stays."""

from datetime import timedelta

from django.utils import timezone

from campaigns import privacy
from campaigns.models import Campaign, Message
from tests.sending_helpers import phones, sending_redis  # noqa: F401 (fixture)
from tests.test_api_send import route, send  # noqa: F401 (fixture)


def test_old_final_api_messages_are_deleted_and_recent_or_moving_ones_kept(client, route, settings):
    settings.SMS_STATISTICS_RETENTION_DAYS = 90
    old_delivered, old_submitted, recent = phones(3)
    assert send(client, route, to=f"{old_delivered},{old_submitted},{recent}").status_code == 200
    now = timezone.now()
    # Test setup: the messages' later lives, written directly (the lifecycle's moves have their own tests).
    Message.objects.filter(phone=old_delivered).update(
        status="delivered", provider_id="p1", submitted_at=now - timedelta(days=91)
    )
    Message.objects.filter(phone=old_submitted).update(
        status="submitted", provider_id="p2", submitted_at=now - timedelta(days=91)
    )
    Message.objects.filter(phone=recent).update(
        status="delivered", provider_id="p3", submitted_at=now - timedelta(days=89)
    )

    assert privacy.purge_old_messages() == {"messages_deleted": 1}
    assert sorted(Message.objects.values_list("phone", flat=True)) == sorted([old_submitted, recent])
    campaign = Campaign.objects.with_counters().get(source=Campaign.Source.API)
    assert campaign.total == 3  # its counts stay
    assert campaign.messages_purged_at is not None
    assert privacy.purge_old_messages() == {"messages_deleted": 0}  # idempotent


def test_an_api_campaign_with_nothing_old_is_not_marked(client, route, settings):
    settings.SMS_STATISTICS_RETENTION_DAYS = 90
    send(client, route)
    Message.objects.update(status="delivered", provider_id="p1", submitted_at=timezone.now())
    assert privacy.purge_old_messages() == {"messages_deleted": 0}
    assert Campaign.objects.get(source=Campaign.Source.API).messages_purged_at is None
