"""PostgreSQL's store-and-acknowledge round (receipts.ingest through
lifecycle.apply_receipts_in_one_statement) moves what the lifecycle's own moves move."""

import pytest

from campaigns import gateway, lifecycle, receipts
from campaigns.models import Message, PendingReceipt
from tests.sending_helpers import (  # noqa: F401 (fixtures)
    counters,
    create_campaign,
    phones,
    planned_campaign,
    shipped_template,
    simulator_connection,
)
from tests.test_receipts import Receipt, Result


@pytest.fixture
def campaign(shop, shipped_template, simulator_connection):
    return planned_campaign(shop, shipped_template, simulator_connection, 3)


def claim_all(campaign):
    ids = list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    return ids, gateway.claim_messages(campaign.pk, ids)


def _moved_state(campaign):
    from campaigns.models import HourlyStat, LedgerEntry, StatusReportDue

    return (
        sorted(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).values_list("campaign_id", "segments")),
        sorted(Message.objects.filter(campaign=campaign).values_list("phone", "status", "receipt_stat", "error_code")),
        {k: v for k, v in counters(campaign).items() if v},
        lifecycle.hourly_sums(HourlyStat.objects.filter(template_id=campaign.template_id)),
        sorted(StatusReportDue.objects.values_list("status", "url")),
        sorted(PendingReceipt.objects.values_list("provider_id", "stat", "err")),
    )


@pytest.mark.parametrize("synchronous_commit", [True, False])
def test_the_one_statement_round_moves_what_the_lifecycle_moves(
    campaign, simulator_connection, shop, settings, synchronous_commit
):
    """PostgreSQL's round (lifecycle.apply_receipts_in_one_statement) against lifecycle.apply_receipts_by_provider_id
    plus the stored unmatched: same messages, counters, hourly rows, reports owed, refunds and pending receipts."""
    from django.db import connection as db
    from django.db import transaction

    if db.vendor != "postgresql":
        pytest.skip("the one-statement round is PostgreSQL's (data-modifying CTEs)")
    settings.SMS_RECEIPTS_SYNCHRONOUS_COMMIT = synchronous_commit
    settings.SMS_REFUND_POLICY = "success_only"  # the carrier's failures are given back, in the same commit
    application = campaign.application
    application.report_url = "https://example.com/reports"
    application.save(update_fields=["report_url"])
    ids, attempts = claim_all(campaign)
    gateway.record_results(campaign.pk, [Result(ref=i, message_ids=(f"p{i}",)) for i in ids], attempts)
    received = [
        Receipt(f"p{ids[0]}"),
        Receipt(f"p{ids[1]}", "UNDELIV", "005"),
        Receipt(f"p{ids[1]}", "UNDELIV", "005"),  # delivered again in the same round (a redelivery)
        Receipt(f"p{ids[2]}", "EXPIRED", "006"),
        Receipt("p-unknown", "REJECTD", "009"),
    ]
    with transaction.atomic():
        receipts.ingest(simulator_connection.pk, received)  # the round's statement, inside this test's transaction
        via_statement = _moved_state(campaign)
        transaction.set_rollback(True)
    # The same receipts through the lifecycle's moves (SQLite's path).
    with transaction.atomic():
        items = receipts.final(received)
        _deltas, matched = lifecycle.apply_receipts_by_provider_id(simulator_connection.pk, items)
        receipts._insert_pending(
            [(simulator_connection.pk, p, s, e, campaign.created_at) for p, s, e in items if p not in matched]
        )
        from campaigns.models import StatusReportDue

        via_lifecycle = _moved_state(campaign)
        assert StatusReportDue.objects.count() == 3
    assert via_statement == via_lifecycle
    assert via_statement[0], "the undelivered and the expired message are refunded"
    assert via_statement[1][0][1:] == ("delivered", "DELIVRD", "")
    assert lifecycle.reconcile(campaign.pk) == {}


def test_rounds_commit_with_and_without_waiting_for_the_disk(campaign, simulator_connection, settings):
    from django.db import connection as db

    if db.vendor != "postgresql":
        pytest.skip("the one-statement round is PostgreSQL's")
    ids, attempts = claim_all(campaign)
    gateway.record_results(campaign.pk, [Result(ref=i, message_ids=(f"p{i}",)) for i in ids], attempts)
    for synchronous_commit in (True, False):
        settings.SMS_RECEIPTS_SYNCHRONOUS_COMMIT = synchronous_commit
        provider_id = f"p{ids[0] if synchronous_commit else ids[1]}"
        assert receipts.ingest(simulator_connection.pk, [Receipt(provider_id)]) == (1, 1)
    assert counters(campaign)["delivered"] == 2 and lifecycle.reconcile(campaign.pk) == {}


def test_a_round_of_a_campaign_without_a_report_url_owes_nothing_and_does_not_look_for_targets(
    campaign, simulator_connection, monkeypatch
):
    """The statement tells which moved messages' campaigns can owe a report (lifecycle._may_report_sql):
    with no report URL and not an API send, the round neither writes a report nor runs report_targets."""
    from django.db import connection as db

    from campaigns.models import Campaign, StatusReportDue

    if db.vendor != "postgresql":
        pytest.skip("the one-statement round is PostgreSQL's (data-modifying CTEs)")
    assert campaign.application.report_url == "" and campaign.source != Campaign.Source.API
    ids, attempts = claim_all(campaign)
    gateway.record_results(campaign.pk, [Result(ref=i, message_ids=(f"p{i}",)) for i in ids], attempts)
    asked = []
    real = lifecycle.report_targets
    monkeypatch.setattr(lifecycle, "report_targets", lambda reported: asked.append(reported) or real(reported))

    assert receipts.ingest(simulator_connection.pk, [Receipt(f"p{i}") for i in ids]) == (3, 3)

    assert asked == []
    assert not StatusReportDue.objects.exists()
    assert counters(campaign)["delivered"] == 3

    # Once the application takes reports, the next round owes them again.
    application = campaign.application
    application.report_url = "https://example.com/reports"
    application.save(update_fields=["report_url"])
    Message.objects.filter(pk=ids[0]).update(status=Message.Status.SUBMITTED)  # a message to move again
    assert receipts.ingest(simulator_connection.pk, [Receipt(f"p{ids[0]}", "UNDELIV", "005")]) == (1, 1)
    assert [list(reported) for reported in asked] == [[campaign.pk]]
    assert list(StatusReportDue.objects.values_list("message_id", "status")) == [(ids[0], "failed")]
