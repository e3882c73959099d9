"""A campaign of three-segment messages through real processes (simulator, Celery worker, gateway,
PostgreSQL, Redis): the simulator sends a receipt for every segment, and each message ends
delivered, or failed with the failing segment's code when the simulator fails one segment of
each; the counters equal the rows (lifecycle.reconcile)."""

import pytest

from campaigns import lifecycle
from campaigns.models import Campaign, Message, MessagePart, PendingReceipt
from tests.sending_helpers import (
    add_simulator_connection,
    recipients_file,
    rows_by_status,
    send_file,
    sending_redis,  # noqa: F401 (fixture)
    simulator,
    wait_for,
    worker_and_gateway,
)
from tests.test_segment_receipts import LONG

RECIPIENTS = 150


@pytest.fixture
def long_template(factories, shop):
    return factories.create_template(shop, content=LONG + "${1}", variables=[("CHARDIGIT", 10)])


def send_long(postgres_url, redis_url, tmp_path, shop, template, *simulator_options):
    path = recipients_file(tmp_path, "1381", RECIPIENTS)
    with simulator(tmp_path, "--dlr-delay", "0.05", *simulator_options) as smsc:
        add_simulator_connection(smsc, "--binds", 2)
        with worker_and_gateway(postgres_url, redis_url, tmp_path, smsc) as processes:
            campaign_id = send_file(shop, template, path)

            def finished():
                campaign = Campaign.objects.get(pk=campaign_id)
                return campaign.status == "completed" and campaign.delivered + campaign.failed == RECIPIENTS

            wait_for(finished, 90, "every message to end", processes)
            stats = smsc.stats()
    assert stats["submits"] == RECIPIENTS and stats["segments"] == 3 * RECIPIENTS
    assert stats["duplicates"] == 0 and stats["duplicate_submits"] == 0
    assert stats["receipts_sent"] == 3 * RECIPIENTS
    assert set(Message.objects.filter(campaign_id=campaign_id).values_list("segments", flat=True)) == {3}
    assert MessagePart.objects.filter(message__campaign_id=campaign_id).count() == 3 * RECIPIENTS
    assert lifecycle.reconcile(campaign_id) == {}
    return campaign_id


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_every_three_segment_message_ends_delivered(
    postgres_url, redis_url, sending_redis, tmp_path, shop, long_template
):
    campaign_id = send_long(postgres_url, redis_url, tmp_path, shop, long_template)
    rows = rows_by_status(Campaign.objects.get(pk=campaign_id))
    assert rows["delivered"] == RECIPIENTS
    parts = MessagePart.objects.filter(message__campaign_id=campaign_id)
    assert set(parts.values_list("stat", flat=True)) == {"DELIVRD"}
    assert not PendingReceipt.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_failing_segment_fails_every_message_with_its_code(
    postgres_url, redis_url, sending_redis, tmp_path, shop, long_template
):
    campaign_id = send_long(
        postgres_url, redis_url, tmp_path, shop, long_template, "--fail-part", "2", "--failure-err", "034",
    )  # fmt: skip
    messages = Message.objects.filter(campaign_id=campaign_id)
    assert rows_by_status(Campaign.objects.get(pk=campaign_id))["failed"] == RECIPIENTS
    assert set(messages.values_list("receipt_stat", "error_code")) == {("UNDELIV", "034")}
    second = MessagePart.objects.filter(message__campaign_id=campaign_id, number=2)
    assert set(second.values_list("stat", "err")) == {("UNDELIV", "034")}
    # A segment's receipt that came after its message had failed is kept only as a duplicate.
    late = set(PendingReceipt.objects.values_list("provider_id", flat=True))
    others = MessagePart.objects.filter(message__campaign_id=campaign_id).exclude(number=2)
    assert late <= set(others.values_list("provider_id", flat=True))
