"""A campaign's page breaks down why messages were not delivered and links to its results; the
counters are proven equal to the rows by reconcile_counters."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.lifecycle import reconcile
from campaigns.models import Campaign, Message
from campaigns.results import breakdown
from tests.results_helpers import DELIVERED, EXPIRED, REFUSED, SKIPPED, UNDELIVERED, UNKNOWN, finished_campaign


@pytest.fixture
def campaign(factories, acme, shop):
    return finished_campaign(
        factories, acme, shop, [DELIVERED, UNDELIVERED, UNDELIVERED, REFUSED, EXPIRED, UNKNOWN, SKIPPED]
    )


def test_the_breakdown_names_each_reason_and_counts_it(campaign):
    with translation.override("en"):
        found = [(str(status), str(reason), count) for status, reason, count in breakdown(campaign.pk)]
    assert found == [
        ("Failed", "The carrier reported it undeliverable (carrier error 001)", 2),
        ("Failed", "Invalid destination number", 1),
        ("Expired", "No delivery report in time: the carrier let it expire", 1),
        ("Unknown", "The connection was lost before the provider answered: not sent again", 1),
        ("Skipped", "The number is on the account's opt-out list", 1),
    ]


def test_the_campaign_page_shows_the_breakdown_and_its_results_links(alice_client, campaign):
    html = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content.decode()
    assert 'id="campaign-breakdown"' in html and "Invalid destination number" in html
    # Translated reasons, not the raw SMPP status beside them.
    assert ">11<" not in html
    assert f'{reverse("reports:records")}?campaign={campaign.pk}"' in html
    assert reverse("reports:failed_numbers", args=[campaign.pk, "csv"]) in html
    assert reverse("reports:failed_numbers", args=[campaign.pk, "xlsx"]) in html
    assert 'id="resend-failed"' in html


def test_a_read_only_member_sees_the_links_but_not_resend(client, bob, campaign):
    client.force_login(bob)
    html = client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content.decode()
    assert 'id="campaign-records"' in html and 'id="resend-failed"' not in html


def test_a_draft_has_no_results_panel(factories, alice_client, acme, shop, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(planned_at=None)
    html = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content.decode()
    assert 'id="campaign-results"' not in html


def test_the_sidebar_has_a_results_group_with_the_records(alice_client, campaign):
    html = alice_client.get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("reports:records")}"' in html


def test_counters_equal_to_the_rows_reconcile(campaign):
    assert reconcile(campaign.pk) == {}
    out = io.StringIO()
    call_command("reconcile_counters", str(campaign.pk), stdout=out)
    assert "every counter equals its rows" in out.getvalue()


def test_a_counter_that_drifted_is_printed_and_fails_the_command(factories, acme, shop, campaign):
    other = finished_campaign(factories, acme, shop, [DELIVERED], name="Autumn")
    Campaign.objects.filter(pk=campaign.pk).update(failed=5, total=9)
    assert reconcile(campaign.pk) == {"total": {"counted": 9, "rows": 7}, "failed": {"counted": 5, "rows": 3}}
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile_counters", stdout=out, stderr=io.StringIO())
    assert exit_.value.code == 1
    assert f"campaign {campaign.pk}: failed is 5, the rows say 3" in out.getvalue()
    assert f"campaign {other.pk}:" not in out.getvalue()


def test_reconcile_refuses_an_unknown_campaign(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No campaign 999"):
        call_command("reconcile_counters", "999")


def test_campaigns_whose_messages_were_purged_are_not_reconciled(campaign):
    # The retention purge deletes a finished campaign's rows and keeps its counters on purpose.
    Message.objects.filter(campaign=campaign).delete()
    Campaign.objects.filter(pk=campaign.pk).update(messages_purged_at=timezone.now())
    out = io.StringIO()
    call_command("reconcile_counters", stdout=out)
    assert "0 campaign(s) checked" in out.getvalue()
