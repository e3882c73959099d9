"""A campaign's receipt diagnostics: latency histogram, outcomes by status and error code, stored
receipts not yet applied, and messages waiting for a receipt longer than N hours."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from campaigns.models import Campaign, Message, PendingReceipt
from tests.campaign_helpers import create_campaign, create_completed_import, create_connection, create_order_setup

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
# session, user, membership, campaign; finished messages grouped, stored receipts, waiting rows and their count.
QUERIES = 8


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def connection(db):
    return create_connection()


@pytest.fixture
def campaign(factories, acme, shop, connection):
    _signature, template = create_order_setup(factories, shop)
    imp = create_completed_import(acme, shop, template)
    return create_campaign(acme, template, connection, recipient_import=imp, status=Campaign.Status.COMPLETED)


def add_messages(campaign, *rows):
    """Messages of `campaign`: (status, submitted seconds before NOW or None, latency seconds or None, error code)."""
    messages = []
    for number, (status, submitted_ago, latency, code) in enumerate(rows, start=Message.objects.count()):
        submitted_at = NOW - timedelta(seconds=submitted_ago) if submitted_ago is not None else None
        done_at = submitted_at + timedelta(seconds=latency) if latency is not None and submitted_at else None
        if status == Message.Status.FAILED and submitted_at is None:
            done_at = NOW  # refused at submit: finished without a receipt
        messages.append(
            Message(
                campaign=campaign,
                connection=campaign.connection,
                phone=f"+86138{number:08d}",
                status=status,
                provider_id=f"p{number}" if submitted_at else None,
                submitted_at=submitted_at,
                done_at=done_at,
                error_code=code,
            )
        )
    return Message.objects.bulk_create(messages)


def url(campaign, **params):
    return reverse("reports:diagnostics", args=[campaign.pk]), params


def test_the_latency_histogram_buckets_submit_to_receipt_times(alice_client, campaign, django_assert_num_queries):
    D, F, E = Message.Status.DELIVERED, Message.Status.FAILED, Message.Status.EXPIRED
    add_messages(
        campaign,
        (D, 3600, 2, ""),
        (D, 3600, 4.9, ""),
        (D, 3600, 7, ""),
        (F, 3600, 45, "UNDELIV"),
        (D, 7200, 400, ""),
        (E, 90 * 3600, 80 * 3600, "EXPIRED"),
        (F, None, None, "0x45"),  # refused at submit: no receipt, not in the histogram
        (Message.Status.SUBMITTED, 60, None, ""),  # no receipt yet
    )
    path, params = url(campaign)
    with django_assert_num_queries(QUERIES):
        response = alice_client.get(path, params)
    histogram = response.context["histogram"]
    assert histogram["total"] == 6
    counts = {str(label): count for label, count, _percent in histogram["buckets"]}
    assert counts == {
        "under 5 s": 2,
        "5–10 s": 1,
        "10–30 s": 0,
        "30–60 s": 1,
        "1–5 min": 0,
        "5–30 min": 1,
        "30–60 min": 0,
        "1–6 h": 0,
        "6–24 h": 0,
        "24–72 h": 0,
        "over 72 h": 1,
    }
    assert histogram["buckets"][0][2] == 33.3


def test_outcomes_are_broken_down_by_status_and_error_code(alice_client, campaign):
    D, F = Message.Status.DELIVERED, Message.Status.FAILED
    add_messages(
        campaign,
        (D, 60, 5, ""),
        (D, 60, 5, ""),
        (D, 60, 5, ""),
        (F, 60, 5, "UNDELIV"),
        (F, 60, 5, "UNDELIV"),
        (F, 60, 5, "REJECTD"),
        (Message.Status.EXPIRED, 60, 5, "EXPIRED"),
        (Message.Status.UNKNOWN, 60, None, ""),
        (Message.Status.SUBMITTED, 60, None, ""),
    )
    path, params = url(campaign)
    outcomes = alice_client.get(path, params).context["outcomes"]
    assert [(status, code, count) for _label, status, code, count in outcomes] == [
        ("delivered", "", 3),
        ("failed", "UNDELIV", 2),
        ("expired", "EXPIRED", 1),
        ("failed", "REJECTD", 1),
        ("unknown", "", 1),
    ]


def test_messages_waiting_for_a_receipt_longer_than_n_hours(alice_client, campaign):
    S = Message.Status.SUBMITTED
    add_messages(
        campaign, (S, 30 * 3600, None, ""), (S, 25 * 3600, None, ""), (S, 3 * 3600, None, ""), (S, 60, None, "")
    )
    path, _params = url(campaign)
    default = alice_client.get(path)
    assert default.context["hours"] == 24
    assert default.context["waiting_count"] == 2
    assert [submitted for _phone, submitted in default.context["waiting"]] == [
        NOW - timedelta(hours=30),
        NOW - timedelta(hours=25),
    ]
    assert alice_client.get(path, {"hours": "2"}).context["waiting_count"] == 3
    for bad in ("0", "abc", "100000", "-3"):
        assert alice_client.get(path, {"hours": bad}).context["hours"] == 24, bad


def test_stored_receipts_of_the_campaigns_messages_are_listed_and_others_are_not(
    alice_client, factories, acme, shop, campaign, connection
):
    delivered, submitted = add_messages(
        campaign, (Message.Status.DELIVERED, 600, 5, ""), (Message.Status.SUBMITTED, 600, None, "")
    )
    _signature, other_template = create_order_setup(factories, shop, name="Other")
    other = create_campaign(
        acme, other_template, connection, recipient_import=create_completed_import(acme, shop, other_template)
    )
    (theirs,) = add_messages(other, (Message.Status.DELIVERED, 600, 5, ""))
    PendingReceipt.objects.create(connection=connection, provider_id=delivered.provider_id, stat="DELIVRD")
    PendingReceipt.objects.create(connection=connection, provider_id=submitted.provider_id, stat="UNDELIV", err="011")
    PendingReceipt.objects.create(connection=connection, provider_id=theirs.provider_id, stat="DELIVRD")
    PendingReceipt.objects.create(connection=connection, provider_id="matches-nothing", stat="DELIVRD")
    other_connection = create_connection("other-route")
    PendingReceipt.objects.create(connection=other_connection, provider_id=delivered.provider_id, stat="DELIVRD")
    path, _params = url(campaign)
    unmatched = alice_client.get(path).context["unmatched"]
    assert [(r["provider_id"], r["stat"], r["err"]) for r in unmatched["receipts"]] == [
        (delivered.provider_id, "DELIVRD", ""),
        (submitted.provider_id, "UNDELIV", "011"),
    ]
    assert unmatched["more"] is False


def test_a_read_only_member_sees_the_page_with_numbers_masked(client, bob, campaign, django_assert_num_queries):
    add_messages(campaign, (Message.Status.SUBMITTED, 30 * 3600, None, ""))
    client.force_login(bob)
    path, _params = url(campaign)
    with django_assert_num_queries(QUERIES):
        response = client.get(path)
    assert response.status_code == 200
    ((phone, _submitted),) = response.context["waiting"]
    assert "****" in phone
    assert "****" in response.content.decode()


def test_another_accounts_campaign_is_not_found(client, charlie, campaign):
    client.force_login(charlie)
    path, _params = url(campaign)
    assert client.get(path).status_code == 404
    assert client.get(reverse("reports:diagnostics", args=[campaign.pk + 1000])).status_code == 404


def test_the_campaign_page_links_its_diagnostics(alice_client, campaign):
    html = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content.decode()
    assert f'href="{reverse("reports:diagnostics", args=[campaign.pk])}"' in html
