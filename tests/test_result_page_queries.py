"""The results pages that show one thing in detail cost a fixed number of queries: a send record's
page whatever its segments, and a campaign's page with its results panel whatever its failures."""

from django.urls import reverse

from campaigns.models import Message, MessagePart
from tests.results_helpers import DELIVERED, EXPIRED, REFUSED, SKIPPED, UNDELIVERED, UNKNOWN, finished_campaign

# Session, user, membership with its account; the message; its campaign (with template and signature).
RECORD_QUERIES = 5
# Session, user, membership with its account; the campaign with its counters; the grouped breakdown.
CAMPAIGN_QUERIES = 5


def test_a_records_page_reads_the_parts_of_a_long_message_in_one_query(
    alice_client, factories, acme, shop, django_assert_num_queries
):
    campaign = finished_campaign(factories, acme, shop, [UNDELIVERED, UNDELIVERED])
    short, long = campaign.messages.order_by("id")
    Message.objects.filter(pk=long.pk).update(segments=5)
    MessagePart.objects.bulk_create(
        MessagePart(message=long, connection_id=campaign.connection_id, number=n, provider_id=f"p{n}", stat="DELIVRD")
        for n in range(1, 6)
    )
    with django_assert_num_queries(RECORD_QUERIES):
        assert alice_client.get(reverse("reports:record", args=[short.pk])).status_code == 200
    with django_assert_num_queries(RECORD_QUERIES + 1):  # its parts, in one query
        response = alice_client.get(reverse("reports:record", args=[long.pk]))
    assert response.status_code == 200 and 'id="record-parts"' in response.content.decode()


def test_a_campaigns_page_costs_the_same_with_few_or_many_failure_reasons(
    alice_client, factories, acme, shop, django_assert_num_queries
):
    few = finished_campaign(factories, acme, shop, [DELIVERED, UNDELIVERED], name="Few")
    many = finished_campaign(
        factories, acme, shop, [UNDELIVERED, REFUSED, EXPIRED, UNKNOWN, SKIPPED] * 10 + [DELIVERED], name="Many"
    )
    for campaign in (few, many):
        with django_assert_num_queries(CAMPAIGN_QUERIES):
            response = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk]))
        assert response.status_code == 200 and 'id="campaign-results"' in response.content.decode()
