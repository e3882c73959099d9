"""Status reports through real processes: the SMSC simulator's receipts reach the gateway, whose
lifecycle moves owe the application reports; a real Celery worker, woken after those commits,
turns them into JSON batches and delivers them to a real HTTP receiver, each message once, also
when the receiver refuses some batches at first (their retries, 30 s later, are run here with the
clock moved on rather than waited for)."""

import pytest
from django.utils import timezone

from campaigns import status_reports
from campaigns.models import Campaign, Message, Push, PushAttempt, StatusReportDue
from tests.push_receiver import Receiver, deliver_all
from tests.sending_helpers import (
    add_simulator_connection,
    order_template,  # noqa: F401 (fixture)
    recipients_file,
    send_file,
    sending_redis,  # noqa: F401 (fixture)
    simulator,
    wait_for,
    worker_and_gateway,
)

RECIPIENTS = 120


def settled():
    """Every report is in a push, and every push was tried (delivered or refused once)."""
    if StatusReportDue.objects.exists():
        return False
    pushes = Push.objects.all()
    tried = not pushes.filter(status=Push.Status.PENDING, last_error="").exists()
    return tried and sum(len(p.body["statusReportList"]) for p in pushes) == RECIPIENTS


def reports(receiver):
    return [report for body in receiver.delivered() for report in body["statusReportList"]]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_campaigns_receipts_reach_the_report_url_in_batches_each_message_once(
    postgres_url, redis_url, sending_redis, tmp_path, shop, order_template
):
    recipients = recipients_file(tmp_path, "1391", RECIPIENTS)
    with simulator(tmp_path) as smsc, Receiver(script=[503, 500]) as receiver:
        shop.report_url = receiver.url
        shop.save(update_fields=["report_url"])
        add_simulator_connection(smsc)
        # The gateway wakes the drain on the test worker's queue, and the drain the deliveries.
        with worker_and_gateway(postgres_url, redis_url, tmp_path, smsc) as processes:
            campaign_id = send_file(shop, order_template, recipients)

            def finished():
                c = Campaign.objects.get(pk=campaign_id)
                return c.status == "completed" and c.delivered + c.failed + c.expired + c.unknown == RECIPIENTS

            wait_for(finished, 60, "the campaign", processes)
            wait_for(settled, 30, "the status reports", processes)
        deliver_all(timezone.now())  # the two refused batches, retried

    messages = {
        status_reports.message_ref(m.pk): m
        for m in Message.objects.filter(campaign_id=campaign_id).only("pk", "phone", "status", "receipt_stat")
    }
    received = reports(receiver)
    assert sorted(r["smsMsgId"] for r in received) == sorted(messages)  # every message, exactly once
    assert all(r["to"] == messages[r["smsMsgId"]].phone for r in received)
    assert all(r["status"] == messages[r["smsMsgId"]].receipt_stat for r in received)
    assert {r["status"] for r in received} <= {"DELIVRD", "UNDELIV", "REJECTD", "EXPIRED"}
    assert all(kind == "application/json" for kind, _body, _status in receiver.requests)
    assert all(len(body["statusReportList"]) <= 50 for body in receiver.delivered())
    assert set(Push.objects.values_list("kind", "status")) == {(Push.Kind.BATCH_STATUS, Push.Status.DELIVERED)}
    assert not StatusReportDue.objects.exists()
    assert sorted(PushAttempt.objects.exclude(status_code=200).values_list("status_code", flat=True)) == [500, 503]
