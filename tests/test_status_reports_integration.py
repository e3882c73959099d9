"""Status reports through real processes: the SMSC simulator's receipts reach the gateway, whose
lifecycle moves owe the application reports; a real Celery worker, woken after those commits,
turns them into JSON batches and delivers them to a real HTTP receiver, each message once, also
when the receiver refuses some batches at first (their retries, 30 s later, are run here with the
clock moved on rather than waited for)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns import status_reports
from campaigns.models import Campaign, Message, Push, PushAttempt, StatusReportDue
from tests.push_receiver import Receiver, deliver_all
from tests.sending_helpers import (
    SIM_PASSWORD,
    SIM_SYSTEM_ID,
    gateway,
    sending_redis,  # noqa: F401 (fixture)
    simulator,
    wait_for,
    worker,
)

RECIPIENTS = 120


@pytest.fixture
def order_template(factories, shop):
    return factories.create_template(shop, content="Your order ${1} has shipped.", variables=[("CHARDIGIT", 20)])


@pytest.fixture
def recipients_file(tmp_path):
    path = tmp_path / "recipients.csv"
    path.write_text("phone,order\n" + "".join(f"1391{n:07d},A{n}\n" for n in range(RECIPIENTS)))
    return path


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
    postgres_url, redis_url, sending_redis, tmp_path, shop, order_template, recipients_file
):
    with simulator(tmp_path) as smsc, Receiver(script=[503, 500]) as receiver:
        shop.report_url = receiver.url
        shop.save(update_fields=["report_url"])
        call_command("add_smpp_connection", "simulator", "--host", "127.0.0.1", "--port", str(smsc.port),
                     "--system-id", SIM_SYSTEM_ID, "--password", SIM_PASSWORD, "--tps", "0",
                     stdout=StringIO())  # fmt: skip
        with worker(postgres_url, redis_url, tmp_path) as celery:
            # The gateway wakes the drain on the test worker's queue, and the drain the deliveries.
            with gateway(postgres_url, redis_url, tmp_path, CELERY_TASK_DEFAULT_QUEUE=celery.queue) as gw:
                processes = [
                    ("simulator", smsc.process, smsc.log_path),
                    ("worker", celery, celery.log_path),
                    ("gateway", gw, gw.log_path),
                ]
                from smsconsole.celery import app

                wait_for(lambda: app.control.ping(timeout=1.0), 60, "the worker", processes)
                out = StringIO()
                call_command("send_campaign", "--application", shop.app_key, "--template", str(order_template.pk),
                             "--file", str(recipients_file), "--connection", "simulator", stdout=out,
                             stderr=StringIO())  # fmt: skip
                campaign_id = int(out.getvalue().strip().splitlines()[-1])

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
