"""Planning in slices: each slice commits its messages and batches and is dispatched at once; a
planner killed between slices leaves a plan that a second run completes without planning anyone
twice; a cancel that lands mid-plan stops it with nothing left queued."""

import pytest

from campaigns import lifecycle, planning
from campaigns.models import Batch, Campaign, Message
from campaigns.tasks import plan_campaign
from tests.sending_helpers import (  # noqa: F401 (fixture)
    counters,
    create_campaign,
    create_connection,
    phones,
    rows_by_status,
    sending_redis,
)


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Order ${1} shipped.")


@pytest.fixture
def campaign(shop, template, settings):
    settings.SMS_PLAN_SLICE = 5  # the first slice holds a tenth of it (at least 1), the others 5
    settings.SMS_BATCH_SIZE = 3
    rows = [(phone, [f"A{n}"]) for n, phone in enumerate(phones(10))]
    return create_campaign(shop, template, create_connection(), rows, status=Campaign.Status.RUNNING)


def test_a_plan_in_slices_numbers_its_batches_on_and_counts_every_recipient_once(campaign):
    assert plan_campaign(campaign.pk)["total"] == 10
    campaign.refresh_from_db()
    assert campaign.planned_at is not None and campaign.total == 10 and campaign.queued == 10
    batches = list(
        Batch.objects.filter(campaign=campaign).order_by("number").values_list("number", "first_id", "last_id")
    )
    # Slices of 1, 5 and 4 recipients, each cut into batches of at most 3.
    assert [number for number, *_ in batches] == [1, 2, 3, 4, 5]
    ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    covered = [i for _n, first, last in batches for i in ids if first <= i <= last]
    assert covered == ids
    assert lifecycle.reconcile(campaign.pk) == {}


def test_each_slice_is_dispatched_when_it_commits(campaign, monkeypatch, django_capture_on_commit_callbacks):
    dispatched = []
    monkeypatch.setattr(planning, "_dispatch", lambda campaign_id: dispatched.append(campaign_id))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        plan_campaign(campaign.pk)
    assert len(callbacks) == 4  # three slices, and once more when planning is done
    assert dispatched == [campaign.pk] * 4


def test_a_planner_killed_between_slices_is_completed_by_the_next_run_without_duplicates(campaign, monkeypatch):
    real = planning.plan_slice
    calls = []

    def dies_after_the_first_slice(*args):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("killed")
        return real(*args)

    monkeypatch.setattr(planning, "plan_slice", dies_after_the_first_slice)
    with pytest.raises(SystemExit):
        plan_campaign(campaign.pk)
    assert counters(campaign)["total"] == 1 and Campaign.objects.get(pk=campaign.pk).planned_at is None

    monkeypatch.setattr(planning, "plan_slice", real)
    plan_campaign(campaign.pk)
    assert Message.objects.filter(campaign=campaign).count() == 10
    assert counters(campaign)["total"] == 10 and rows_by_status(campaign)["queued"] == 10
    assert lifecycle.reconcile(campaign.pk) == {}
    assert plan_campaign(campaign.pk) == {"campaign": campaign.pk, "skipped": "planned"}


def test_a_cancel_between_slices_stops_planning_and_leaves_nothing_queued(campaign, monkeypatch):
    real = planning.plan_slice
    calls = []

    def cancel_after_the_first_slice(*args):
        calls.append(1)
        if len(calls) == 2:
            Campaign.objects.get(pk=campaign.pk).cancel()
            lifecycle.cancel_queued(campaign.pk)  # the task the cancel queues
        return real(*args)

    monkeypatch.setattr(planning, "plan_slice", cancel_after_the_first_slice)
    plan_campaign(campaign.pk)
    assert rows_by_status(campaign)["queued"] == 0
    assert rows_by_status(campaign)["cancelled"] == 1
    assert lifecycle.reconcile(campaign.pk) == {}


def test_the_batches_of_a_campaign_still_planning_are_pushed_but_it_does_not_complete(campaign, sending_redis):
    from campaigns import dispatch

    loaded = Campaign.objects.select_related("recipient_import", "template", "signature").get(pk=campaign.pk)
    assert planning.plan_slice(loaded, planning.Audience(loaded))["done"] is False
    assert dispatch.dispatch(campaign.pk)["pushed"] == 1  # the first slice's batch
    lifecycle.cancel_queued(campaign.pk)  # as if every planned message were finished
    Batch.objects.filter(campaign=campaign).update(status=Batch.Status.DONE)
    assert dispatch.complete_if_finished(campaign.pk) is False
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.RUNNING
