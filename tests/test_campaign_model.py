from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Campaign
from smsconsole.models import TransitionError
from tests.sending_helpers import counters, create_campaign, create_connection, phones


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Your order ${1} has shipped.")


@pytest.fixture
def campaign(shop, template):
    return create_campaign(shop, template, create_connection(), phones(2))


@pytest.fixture
def queued_tasks(monkeypatch):
    """The task names and ids the model queues after commit, instead of running them."""
    from campaigns import tasks

    calls = []
    for name in ("plan_campaign", "dispatch_campaign", "cancel_queued_messages"):
        monkeypatch.setattr(
            getattr(tasks, name), "delay", lambda campaign_id, name=name: calls.append((name, campaign_id))
        )
    return calls


def test_launch_starts_a_draft_and_queues_planning_after_commit(
    campaign, queued_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        campaign.launch()
    assert queued_tasks == []  # not inside the transaction
    for callback in callbacks:
        callback()
    assert queued_tasks == [("plan_campaign", campaign.pk)]
    campaign.refresh_from_db()
    assert campaign.status == "running" and campaign.started_at is not None


def test_a_second_launch_loses_the_compare_and_set(campaign, queued_tasks, django_capture_on_commit_callbacks):
    stale = Campaign.objects.get(pk=campaign.pk)
    with django_capture_on_commit_callbacks(execute=True):
        campaign.launch()
        with pytest.raises(TransitionError):
            stale.launch()
    assert queued_tasks == [("plan_campaign", campaign.pk)]


def test_schedule_accepts_up_to_a_month_ahead_only_in_the_future(campaign):
    with pytest.raises(TransitionError):
        campaign.schedule(timezone.now() - timedelta(minutes=1))
    with pytest.raises(TransitionError):
        campaign.schedule(timezone.now() + timedelta(days=32))
    at = timezone.now() + timedelta(days=30)
    campaign.schedule(at)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.scheduled_at) == ("scheduled", at)


def test_a_scheduled_campaign_can_be_cancelled_until_five_minutes_before_it_starts(campaign, queued_tasks):
    campaign.schedule(timezone.now() + timedelta(hours=1))
    with time_machine.travel(timezone.now() + timedelta(minutes=56)):
        assert not campaign.can_cancel
        with pytest.raises(TransitionError):
            campaign.cancel()
    assert campaign.can_cancel
    campaign.cancel()
    assert Campaign.objects.get(pk=campaign.pk).status == "cancelled"


def test_pause_and_resume_move_between_running_and_paused_and_resume_dispatches(
    campaign, queued_tasks, django_capture_on_commit_callbacks
):
    Campaign.objects.filter(pk=campaign.pk).update(status="running")
    campaign.refresh_from_db()
    campaign.pause()
    with pytest.raises(TransitionError):
        campaign.pause()
    with django_capture_on_commit_callbacks(execute=True):
        campaign.resume()
    assert queued_tasks == [("dispatch_campaign", campaign.pk)]
    assert Campaign.objects.get(pk=campaign.pk).status == "running"


def test_cancel_of_a_running_campaign_queues_the_cancellation_of_its_queued_messages(
    campaign, queued_tasks, django_capture_on_commit_callbacks
):
    Campaign.objects.filter(pk=campaign.pk).update(status="running")
    campaign.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        campaign.cancel()
    assert queued_tasks == [("cancel_queued_messages", campaign.pk)]
    campaign.refresh_from_db()
    assert campaign.status == "cancelled" and campaign.finished_at is not None
    with pytest.raises(TransitionError):
        campaign.resume()


def test_complete_only_from_running_and_fail_records_the_reason(campaign):
    with pytest.raises(TransitionError):
        campaign.complete()
    campaign.fail("x" * 300)
    campaign.refresh_from_db()
    assert campaign.status == "failed" and len(campaign.failure_reason) == 200


def test_a_copy_is_a_draft_with_the_same_settings_and_no_audience(campaign, alice):
    Campaign.objects.filter(pk=campaign.pk).update(shared_variables=["X"])
    campaign.refresh_from_db()
    copy = campaign.copy(alice)
    assert (copy.status, copy.recipient_import, copy.contact_list, copy.created_by) == ("draft", None, None, alice)
    assert (copy.template, copy.signature, copy.connection, copy.shared_variables) == (
        campaign.template,
        campaign.signature,
        campaign.connection,
        ["X"],
    )
    assert copy.name == "Spring (copy)"


def test_move_counters_adds_every_delta_in_one_update(campaign, django_assert_num_queries):
    with django_assert_num_queries(1):
        Campaign.move_counters(campaign.pk, queued=-5, sending=3, failed=2, skipped=0)
    assert {k: v for k, v in counters(campaign).items() if v} == {"queued": -5, "sending": 3, "failed": 2}
    with django_assert_num_queries(0):
        Campaign.move_counters(campaign.pk, queued=0)
