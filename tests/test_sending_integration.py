"""A campaign goes out through real processes: the SMSC simulator, a Celery worker and the gateway.

PostgreSQL and Redis are real too. The simulator counts what reached it, so duplicates and losses
are measured where they would hurt, not inferred from our own rows.
"""

import time

import pytest

from campaigns.models import Campaign, Message, PendingReceipt
from tests.sending_helpers import (
    add_simulator_connection,
    counters,
    order_template,  # noqa: F401 (fixture)
    recipients_file,
    rows_by_status,
    send_file,
    sending_redis,  # noqa: F401 (fixture)
    simulator,
    wait_for,
    worker_and_gateway,
)

RECIPIENTS = 2000


def watch_submits(smsc, seconds):
    """The simulator's submit count every 0.1 s for `seconds`, with the time since the call."""
    started = time.monotonic()
    readings = []
    while (elapsed := time.monotonic() - started) < seconds:
        readings.append((elapsed, smsc.stats()["submits"]))
        time.sleep(0.1)
    return readings


def campaign_row(campaign_id):
    return Campaign.objects.with_counters().get(pk=campaign_id)


def assert_sent_exactly_once(campaign_id, smsc):
    stats = smsc.stats()
    assert stats["submits"] == RECIPIENTS
    assert stats["duplicates"] == 0 and stats["duplicate_submits"] == 0
    assert set(stats["per_destination"].values()) == {1}
    assert len(stats["per_destination"]) == RECIPIENTS
    campaign = campaign_row(campaign_id)
    rows = rows_by_status(campaign)
    assert rows["delivered"] == RECIPIENTS
    assert {name: value for name, value in counters(campaign).items() if name != "total"} == {
        name: rows.get(name, 0) for name in Campaign.COUNTERS
    }
    assert campaign.total == RECIPIENTS
    assert not PendingReceipt.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_campaign_is_sent_once_to_everyone_and_every_receipt_is_applied(
    postgres_url, redis_url, sending_redis, tmp_path, shop, order_template
):
    recipients = recipients_file(tmp_path, "1380", RECIPIENTS)
    with simulator(tmp_path, "--dlr-delay", "0.05") as smsc:
        add_simulator_connection(smsc, "--binds", 2)
        with worker_and_gateway(postgres_url, redis_url, tmp_path, smsc) as processes:
            started = time.monotonic()
            campaign_id = send_file(shop, order_template, recipients)

            wait_for(lambda: campaign_row(campaign_id).status == "completed", 60, "the campaign to complete", processes)
            wait_for(lambda: campaign_row(campaign_id).delivered == RECIPIENTS, 30, "every receipt", processes)
            elapsed = time.monotonic() - started

        assert_sent_exactly_once(campaign_id, smsc)
        assert elapsed < 60
        first = Message.objects.filter(campaign_id=campaign_id).order_by("id").first()
        assert first.provider_id and first.submitted_at and first.done_at and first.attempts == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_pause_stops_submits_within_two_seconds_and_resume_finishes_without_duplicates(
    postgres_url, redis_url, sending_redis, tmp_path, shop, order_template
):
    recipients = recipients_file(tmp_path, "1380", RECIPIENTS)
    with simulator(tmp_path) as smsc:
        # 500 segments a second makes the 2,000 take about 4 s: time to pause in the middle.
        add_simulator_connection(smsc, tps=500)
        with worker_and_gateway(postgres_url, redis_url, tmp_path, smsc) as processes:
            campaign_id = send_file(shop, order_template, recipients)
            wait_for(lambda: smsc.stats()["submits"] >= 300, 30, "the first submits", processes)

            campaign_row(campaign_id).pause()
            readings = watch_submits(smsc, seconds=3.5)  # [(seconds since the pause, submits)]
            frozen = readings[-1][1]
            last_change = max((at for at, submits in readings if submits != frozen), default=0.0)
            assert last_change <= 2.0, readings
            assert frozen < RECIPIENTS
            assert rows_by_status(campaign_row(campaign_id))["queued"] > 0
            assert campaign_row(campaign_id).sending == 0

            campaign_row(campaign_id).resume()
            wait_for(lambda: campaign_row(campaign_id).status == "completed", 60, "the campaign to complete", processes)
            wait_for(lambda: campaign_row(campaign_id).delivered == RECIPIENTS, 30, "every receipt", processes)

        assert_sent_exactly_once(campaign_id, smsc)
