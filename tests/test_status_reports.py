"""Status reports to customers: the lifecycle owes one report per message moved to a final state,
for applications with a report URL, in the moving transaction; campaigns.status_reports turns
them into JSON batches of at most 50 (or per-message form pushes) and forgets them in one commit."""

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from campaigns import lifecycle, status_reports
from campaigns.models import Campaign, Message, Push, StatusReportDue
from campaigns.tasks import plan_campaign
from tests.sending_helpers import create_campaign, create_connection, phones

REPORT_URL = "https://customer.example/reports"


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Your order ${1} has shipped.")


def running_campaign(application, template, count):
    connection = create_connection()
    campaign = create_campaign(application, template, connection, phones(count), status=Campaign.Status.RUNNING)
    plan_campaign(campaign.pk)
    return campaign


def submitted(campaign):
    ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    lifecycle.claim(campaign.pk, ids)
    lifecycle.record_submits(submitted=[(i, f"p{i}") for i in ids])
    return ids


@pytest.fixture
def reporting(shop):
    shop.report_url = REPORT_URL
    shop.save(update_fields=["report_url"])
    return shop


def owed():
    return sorted(StatusReportDue.objects.values_list("message_id", "status", "url", "per_message"))


def test_each_message_moved_to_a_final_state_owes_one_report(reporting, template):
    campaign = running_campaign(reporting, template, 4)
    ids = submitted(campaign)
    assert owed() == []  # claims and submits are not final
    lifecycle.apply_receipts([(ids[0], "DELIVRD", "000"), (ids[1], "UNDELIV", "005")])
    lifecycle.apply_receipts([(ids[0], "UNDELIV", "001")])  # a second receipt moves nothing, owes nothing
    assert owed() == [(ids[0], "delivered", REPORT_URL, False), (ids[1], "failed", REPORT_URL, False)]


def test_failures_at_submit_unknown_and_expired_messages_owe_reports_too(reporting, template):
    campaign = running_campaign(reporting, template, 4)
    ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    lifecycle.claim(campaign.pk, ids)
    lifecycle.record_submits(submitted=[(ids[0], "p0")], failed={("69", "refused"): [ids[1]]}, unknown=[ids[2]])
    with time_machine.travel(timezone.now() + timedelta(hours=72, minutes=1)):
        lifecycle.expire()
    assert [(m, s) for m, s, _u, _p in owed()] == [(ids[0], "expired"), (ids[1], "failed"), (ids[2], "unknown")]


def test_an_application_without_a_report_url_owes_nothing(shop, template):
    campaign = running_campaign(shop, template, 3)
    ids = submitted(campaign)
    lifecycle.apply_receipts([(i, "DELIVRD", "") for i in ids])
    assert owed() == []


def test_a_move_without_a_report_url_costs_one_query_more(shop, template, django_assert_num_queries):
    campaign = running_campaign(shop, template, 3)
    ids = submitted(campaign)
    # savepoint, the move, the hourly row, the report-target lookup, the counters, release; SQLite
    # has no UPDATE ... RETURNING of the old values and reads the rows it moves first.
    with django_assert_num_queries(6 if connection.vendor == "postgresql" else 7):
        lifecycle.apply_receipts([(i, "DELIVRD", "") for i in ids])


def test_a_drain_turns_owed_reports_into_batches_of_fifty_and_forgets_them(reporting, template):
    campaign = running_campaign(reporting, template, 120)
    ids = submitted(campaign)
    lifecycle.apply_receipts([(i, "DELIVRD", "000") for i in ids[:110]] + [(i, "UNDELIV", "005") for i in ids[110:]])
    assert status_reports.drain() == {"reports": 120, "pushes": 3}
    assert StatusReportDue.objects.count() == 0
    pushes = list(Push.objects.order_by("id"))
    assert [len(p.body["statusReportList"]) for p in pushes] == [50, 50, 20]
    assert {(p.kind, p.format, p.url, p.application_id) for p in pushes} == {
        (Push.Kind.BATCH_STATUS, Push.Format.JSON, REPORT_URL, reporting.pk)
    }
    reports = [r for p in pushes for r in p.body["statusReportList"]]
    assert sorted(r["smsMsgId"] for r in reports) == sorted(status_reports.message_ref(i) for i in ids)
    # Reports follow the order their due rows were written in, which the receipt move does not fix.
    by_ref = {r["smsMsgId"]: r for r in reports}
    first, last = by_ref[status_reports.message_ref(ids[0])], by_ref[status_reports.message_ref(ids[-1])]
    assert first["status"] == "DELIVRD" and first["source"] == "2" and first["total"] == "1"
    assert first["to"] == "+8613800000000" and first["updateTime"].endswith("Z")
    assert last["status"] == "UNDELIV" and last["orgCode"] == "005"
    assert status_reports.drain() == {"reports": 0, "pushes": 0}


def test_a_report_the_platform_made_up_has_no_update_time(reporting, template):
    campaign = running_campaign(reporting, template, 1)
    ids = list(Message.objects.filter(campaign=campaign).values_list("id", flat=True))
    lifecycle.claim(campaign.pk, ids)
    lifecycle.record_submits(unknown=ids)
    status_reports.drain()
    (report,) = Push.objects.get().body["statusReportList"]
    assert report["status"] == "UNKNOWN" and report["source"] == "1" and "updateTime" not in report
    assert report["statusDesc"] == lifecycle.AMBIGUOUS_ERROR


def test_a_drain_that_fails_midway_leaves_every_report_owed(reporting, template):
    campaign = running_campaign(reporting, template, 3)
    ids = submitted(campaign)
    lifecycle.apply_receipts([(i, "DELIVRD", "") for i in ids])
    with mock.patch("campaigns.push.enqueue_many", side_effect=RuntimeError("worker died")):
        with pytest.raises(RuntimeError):
            status_reports.drain()
    assert len(owed()) == 3 and Push.objects.count() == 0
    assert status_reports.drain() == {"reports": 3, "pushes": 1}


def test_a_report_owed_to_a_send_callback_is_a_form_push_of_its_own(reporting, template):
    campaign = running_campaign(reporting, template, 2)
    ids = submitted(campaign)
    lifecycle.apply_receipts([(i, "DELIVRD", "") for i in ids])
    # The seam API sends will use: a report owed to the send's own statusCallback.
    StatusReportDue.objects.filter(message_id=ids[0]).update(url="https://api.example/cb", per_message=True)
    assert status_reports.drain() == {"reports": 2, "pushes": 2}
    single = Push.objects.get(kind=Push.Kind.STATUS)
    assert single.format == Push.Format.FORM and single.url == "https://api.example/cb"
    assert single.body["smsMsgId"] == status_reports.message_ref(ids[0]) and single.body["status"] == "DELIVRD"
    assert single.dedupe_key == f"status:{ids[0]}:delivered"
