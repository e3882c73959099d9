"""Status report batches through the push outbox to a real HTTP receiver that is down for a while
(answers 503) and then fails a tenth of the requests: every message is reported exactly once."""

import pytest
from django.utils import timezone

from campaigns import lifecycle, status_reports
from campaigns.models import Campaign, Message, Push, PushAttempt
from campaigns.tasks import plan_campaign
from tests.push_receiver import Receiver, deliver_all
from tests.sending_helpers import create_campaign, create_connection, phones

MESSAGES = 300  # six batches of 50
DOWN = [503] * 12  # every batch refused twice while the receiver is down


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Your order ${1} has shipped.")


def test_a_receiver_down_for_a_while_and_then_failing_a_tenth_gets_every_report_once(shop, template):
    flaky = [500 if n % 10 == 2 else 200 for n in range(40)]  # a tenth refused once up
    with Receiver(script=DOWN + flaky) as receiver:
        shop.report_url = receiver.url
        shop.save(update_fields=["report_url"])
        connection = create_connection()
        campaign = create_campaign(shop, template, connection, phones(MESSAGES), status=Campaign.Status.RUNNING)
        plan_campaign(campaign.pk)
        ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
        lifecycle.claim(campaign.pk, ids)
        lifecycle.record_submits(submitted=[(i, f"p{i}") for i in ids])
        lifecycle.apply_receipts([(i, "DELIVRD", "000") for i in ids])
        assert status_reports.drain() == {"reports": MESSAGES, "pushes": 6}
        deliver_all(timezone.now())

    reported = [r["smsMsgId"] for body in receiver.delivered() for r in body["statusReportList"]]
    assert sorted(reported) == sorted(status_reports.message_ref(i) for i in ids)
    assert len(receiver.requests) == 12 + 6 + 1  # down twice for each, then one refused and retried
    assert set(Push.objects.values_list("status", flat=True)) == {Push.Status.DELIVERED}
    assert PushAttempt.objects.filter(status_code=503).count() == 12
    assert PushAttempt.objects.filter(status_code=500).count() == 1
