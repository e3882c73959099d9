from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import privacy
from campaigns.models import Campaign, Message
from campaigns.tasks import purge_personal_data
from tests.privacy_helpers import create_sent_campaign
from tests.sending_helpers import sending_redis  # noqa: F401 (a fixture)


def texts(campaign):
    return dict(Message.objects.filter(campaign=campaign).values_list("phone", "variables"))


def test_texts_are_kept_for_the_accounts_days_then_emptied_and_marked(factories, acme):
    campaign = create_sent_campaign(
        factories, acme, [("+8613800000001", "delivered", 31), ("+8613800000002", "delivered", 29)]
    )
    assert privacy.purge_message_texts() == {"texts_purged": 1}
    assert texts(campaign) == {"+8613800000001": [], "+8613800000002": ["order-1"]}
    purged = Message.objects.get(phone="+8613800000001")
    assert purged.text_purged_at is not None
    assert Message.objects.get(phone="+8613800000002").text_purged_at is None


def test_the_purge_is_idempotent(factories, acme):
    create_sent_campaign(factories, acme, [("+8613800000001", "failed", 40)])
    assert privacy.purge_message_texts()["texts_purged"] == 1
    assert privacy.purge_message_texts()["texts_purged"] == 0


def test_zero_days_keeps_no_text_once_handed_over_but_keeps_what_the_gateway_still_needs(factories, acme):
    acme.message_text_days = 0
    acme.save(update_fields=["message_text_days"])
    campaign = create_sent_campaign(
        factories,
        acme,
        [("+8613800000001", "submitted", 0), ("+8613800000002", "queued", 0), ("+8613800000003", "sending", 0)],
    )
    privacy.purge_message_texts(now=timezone.now() + timedelta(seconds=1))
    assert texts(campaign) == {"+8613800000001": [], "+8613800000002": ["order-1"], "+8613800000003": ["order-2"]}


def test_each_account_follows_its_own_setting(factories, acme, other_co):
    other_co.message_text_days = 365
    other_co.save(update_fields=["message_text_days"])
    mine = create_sent_campaign(factories, acme, [("+8613800000001", "delivered", 100)], name="A")
    theirs = create_sent_campaign(factories, other_co, [("+8613800000001", "delivered", 100)], name="B")
    privacy.purge_message_texts()
    assert texts(mine) == {"+8613800000001": []}
    assert texts(theirs) == {"+8613800000001": ["order-0"]}


def test_small_chunks_reach_every_message(factories, acme):
    rows = [(f"+86138000000{n:02d}", "delivered", 45) for n in range(25)]
    campaign = create_sent_campaign(factories, acme, rows)
    assert privacy.purge_message_texts(chunk=4) == {"texts_purged": 25}
    assert set(map(tuple, texts(campaign).values())) == {()}


def test_messages_of_campaigns_finished_past_the_statistics_retention_are_deleted_counts_kept(
    factories, acme, settings
):
    settings.SMS_STATISTICS_RETENTION_DAYS = 90
    old = create_sent_campaign(
        factories, acme, [("+8613800000001", "delivered", 100), ("+8613800000002", "failed", 100)],
        finished_days_ago=91, name="Old",
    )  # fmt: skip
    recent = create_sent_campaign(factories, acme, [("+8613800000001", "delivered", 100)], finished_days_ago=89)
    assert privacy.purge_old_messages() == {"messages_deleted": 2}
    assert not Message.objects.filter(campaign=old).exists()
    assert Message.objects.filter(campaign=recent).count() == 1
    old = Campaign.objects.with_counters().get(pk=old.pk)
    assert (old.total, old.delivered) == (2, 2)  # the page's counts stay
    assert old.messages_purged_at is not None
    assert Campaign.objects.get(pk=recent.pk).messages_purged_at is None


def test_a_message_a_receipt_may_still_move_is_not_deleted(factories, acme, settings):
    settings.SMS_STATISTICS_RETENTION_DAYS = 90
    campaign = create_sent_campaign(
        factories, acme, [("+8613800000001", "submitted", 100)], finished_days_ago=100, name="Old"
    )
    assert privacy.purge_old_messages() == {"messages_deleted": 0}
    assert Message.objects.filter(campaign=campaign).exists()


@pytest.mark.django_db
def test_the_beat_task_runs_both_purges_under_its_lock(factories, acme, sending_redis):
    create_sent_campaign(factories, acme, [("+8613800000001", "delivered", 31)])
    assert purge_personal_data() == {"texts_purged": 1, "messages_deleted": 0}


def test_a_record_renders_its_text_until_the_purge_then_none(factories, acme):
    campaign = create_sent_campaign(factories, acme, [("+8613800000001", "delivered", 31)])
    pieces = ("Your order ", " has shipped.")
    message = Message.objects.get(campaign=campaign)
    assert privacy.record_text(message, pieces) == "Your order order-0 has shipped."
    privacy.purge_message_texts()
    message.refresh_from_db()
    assert privacy.record_text(message, pieces) is None


def test_staff_set_the_days_in_the_accounts_admin_form(acme):
    from smsconsole.admin import AccountAdminForm

    form = AccountAdminForm(instance=acme)
    assert form.initial["message_text_days"] == 30
    data = {**form.initial, "message_text_days": 0}
    bound = AccountAdminForm(data, instance=acme)
    bound.is_valid()
    assert "message_text_days" not in bound.errors
    bad = AccountAdminForm({**form.initial, "message_text_days": -1}, instance=acme)
    assert not bad.is_valid() and "message_text_days" in bad.errors
