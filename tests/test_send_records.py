"""Send records (发送详情): the search and its limits, a record's page, the export with the charged
flag, in a fixed number of queries, for this account's messages only."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.models import Message
from smsconsole.models import AuditLog
from tests.results_helpers import DELIVERED, EXPIRED, REFUSED, SKIPPED, UNDELIVERED, UNKNOWN, finished_campaign

RECORDS = reverse("reports:records")


@pytest.fixture
def campaign(factories, acme, shop):
    return finished_campaign(factories, acme, shop, [DELIVERED, UNDELIVERED, REFUSED, EXPIRED, UNKNOWN, SKIPPED])


def listed_numbers(response):
    return [message.phone for message in response.context["page"]]


def csv_rows(response):
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_search_lists_the_last_seven_days_newest_first(alice_client, campaign):
    response = alice_client.get(RECORDS)
    assert response.status_code == 200
    assert listed_numbers(response) == [f"+86138{n:08d}" for n in (4, 2, 5, 3, 1, 0)]
    assert "Invalid destination number" in response.content.decode()


def test_failed_results_include_the_expired_ones(alice_client, campaign):
    response = alice_client.get(RECORDS, {"status": "failed"})
    assert sorted(listed_numbers(response)) == ["+8613800000001", "+8613800000002", "+8613800000003"]


def test_a_whole_number_finds_its_messages(alice_client, campaign):
    response = alice_client.get(RECORDS, {"phone": "138 0000 0003"})
    assert listed_numbers(response) == ["+8613800000003"]


def test_the_settings_filters_narrow_by_campaign_settings(factories, alice_client, acme, shop, campaign):
    other = finished_campaign(factories, acme, shop, [DELIVERED], name="Autumn")
    by_template = alice_client.get(RECORDS, {"template": other.template_id})
    assert [m.campaign_id for m in by_template.context["page"]] == [other.pk]
    by_signature = alice_client.get(RECORDS, {"signature": campaign.signature_id, "status": "delivered"})
    assert [m.campaign_id for m in by_signature.context["page"]] == [campaign.pk]
    by_channel = alice_client.get(RECORDS, {"channel": other.signature.channel_number})
    assert {m.campaign_id for m in by_channel.context["page"]} == {other.pk}
    by_type = alice_client.get(RECORDS, {"type": "promotion"})
    assert listed_numbers(by_type) == []
    by_application = alice_client.get(RECORDS, {"application": shop.pk, "campaign": other.pk})
    assert [m.campaign_id for m in by_application.context["page"]] == [other.pk]
    # Several templates at once, as the statistics page drills down.
    both = alice_client.get(RECORDS, {"template": [campaign.template_id, other.template_id], "status": "delivered"})
    assert {m.campaign_id for m in both.context["page"]} == {campaign.pk, other.pk}
    assert {f"template={campaign.template_id}", f"template={other.template_id}"} <= set(
        both.context["query"].split("&")
    )


def test_the_window_leaves_out_older_messages(factories, alice_client, acme, shop, campaign):
    old = finished_campaign(factories, acme, shop, [DELIVERED], name="Old", at=timezone.now() - timedelta(days=20))
    today = timezone.localdate()
    recent = alice_client.get(RECORDS, {"start": (today - timedelta(days=2)).isoformat(), "end": today.isoformat()})
    assert old.pk not in {m.campaign_id for m in recent.context["page"]}
    then = (timezone.now() - timedelta(days=20)).astimezone(timezone.get_current_timezone()).date()
    earlier = alice_client.get(RECORDS, {"start": (then - timedelta(days=1)).isoformat(), "end": then.isoformat()})
    assert {m.campaign_id for m in earlier.context["page"]} == {old.pk}


@pytest.mark.parametrize(
    "start_days_ago, end_days_ago, error",
    [
        (8, 0, "A search spans at most 7 days"),
        (95, 93, "Records of the last 90 days can be searched"),
        (0, 2, "The last day must not be before the first day"),
    ],
)
def test_a_window_out_of_bounds_is_a_clear_error(alice_client, campaign, start_days_ago, end_days_ago, error):
    today = timezone.localdate()
    response = alice_client.get(
        RECORDS,
        {
            "start": (today - timedelta(days=start_days_ago)).isoformat(),
            "end": (today - timedelta(days=end_days_ago)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert response.context["page"] is None
    assert error in response.content.decode()


def test_a_window_needs_both_days_and_a_number_must_be_whole(alice_client, campaign):
    response = alice_client.get(RECORDS, {"start": timezone.localdate().isoformat()})
    assert "Choose both the first and the last day" in response.content.decode()
    response = alice_client.get(RECORDS, {"phone": "1380000"})
    assert "Enter a whole mobile number" in response.content.decode()


def test_one_campaign_is_searched_over_its_whole_life_without_a_window(factories, alice_client, acme, shop):
    old = finished_campaign(
        factories, acme, shop, [DELIVERED, UNDELIVERED], name="Old", at=timezone.now() - timedelta(days=200)
    )
    response = alice_client.get(RECORDS, {"campaign": old.pk, "status": "failed"})
    assert listed_numbers(response) == ["+8613800000001"]


def test_pages_are_shared_pagination_in_a_fixed_number_of_queries(
    factories, alice_client, acme, shop, django_assert_num_queries
):
    finished_campaign(factories, acme, shop, [UNDELIVERED] * 25, name="Big")
    finished_campaign(factories, acme, shop, [DELIVERED] * 5, name="Small")
    alice_client.get(RECORDS)  # session and membership caches warm
    # session, user, membership; campaigns, count, page ids, page rows; the form's three selects
    with django_assert_num_queries(10):
        first = alice_client.get(RECORDS)
    assert len(first.context["page"]) == 20 and first.context["page"].paginator.num_pages == 2
    with django_assert_num_queries(10):
        second = alice_client.get(RECORDS, {"page": 2})
    assert len(second.context["page"]) == 10
    seen = [m.pk for m in first.context["page"]] + [m.pk for m in second.context["page"]]
    assert len(set(seen)) == 30
    assert "page=2" in first.content.decode()


def test_the_page_query_follows_the_index_on_postgresql(factories, alice_client, acme, shop):
    if connection.vendor != "postgresql":
        pytest.skip("the LATERAL path is PostgreSQL's")
    finished_campaign(factories, acme, shop, [DELIVERED] * 3)
    with CaptureQueriesContext(connection) as queries:
        alice_client.get(RECORDS)
    page_query = next(q["sql"] for q in queries.captured_queries if "LATERAL" in q["sql"] and "ORDER BY" in q["sql"])
    with connection.cursor() as cursor:
        # Three rows make any index as cheap as another, so the planner is told what a large table
        # tells it (no sequential scan, no sort): the rows must then come in order from message_records.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_sort = off")
        cursor.execute("EXPLAIN " + page_query)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_sort")
    assert "message_records" in plan


def test_every_page_of_interleaved_campaigns_is_the_plain_newest_first_order(factories, acme, shop):
    """The LATERAL page query reads each (campaign, status) pair only down to a bound taken from the
    pairs' newest rows; its pages must be exactly the plain ORDER BY's, ties on the time included."""
    if connection.vendor != "postgresql":
        pytest.skip("the LATERAL path is PostgreSQL's; elsewhere the page is the plain ORDER BY itself")
    from django.http import QueryDict

    from reports.records import RecordSearch, RecordSearchForm

    campaigns = [
        finished_campaign(factories, acme, shop, [DELIVERED] * 30 + [UNDELIVERED] * 5, name="A"),
        finished_campaign(factories, acme, shop, [DELIVERED] * 20 + [UNKNOWN] * 10, name="B"),
        finished_campaign(factories, acme, shop, [EXPIRED] * 3 + [DELIVERED] * 25, name="C"),
    ]
    base = timezone.now() - timedelta(hours=2)
    messages = list(Message.objects.filter(campaign__in=campaigns))
    for message in messages:
        # Eleven distinct times over 93 messages: every pair's rows interleave and many tie.
        message.submitted_at = base + timedelta(minutes=(message.pk * 7) % 11)
    Message.objects.bulk_update(messages, ["submitted_at"])
    form = RecordSearchForm(RecordSearchForm.defaults(QueryDict()), acme)
    assert form.is_valid()
    search = RecordSearch(acme, form.cleaned_data)
    expected = list(search.messages().values_list("pk", flat=True))
    assert len(expected) == 93
    for size in (1, 7, 20):
        for offset in range(0, 100, size):
            assert [m.pk for m in search[offset : offset + size]] == expected[offset : offset + size]


def test_a_number_is_found_in_campaign_and_api_sends_newest_first(factories, acme, shop):
    """A number's search reads campaign messages by (campaign, phone) and an API campaign's, which
    may repeat a number, by the window: together, in the plain ORDER BY's order."""
    if connection.vendor != "postgresql":
        pytest.skip("the number's own query is PostgreSQL's; elsewhere the page is the plain ORDER BY itself")
    from django.http import QueryDict

    from campaigns.models import Campaign
    from reports.records import RecordSearch, RecordSearchForm

    first = finished_campaign(factories, acme, shop, [DELIVERED, UNDELIVERED, DELIVERED], name="A")
    second = finished_campaign(factories, acme, shop, [DELIVERED, DELIVERED], name="B")
    api = finished_campaign(factories, acme, shop, [DELIVERED, DELIVERED, EXPIRED], name="API")
    Campaign.objects.filter(pk=api.pk).update(source=Campaign.Source.API)
    # The API campaign sent to +8613800000001 three times (its messages may repeat a number).
    Message.objects.filter(campaign=api).update(via_api=True, phone="+8613800000001")
    form = RecordSearchForm(RecordSearchForm.defaults(QueryDict("phone=13800000001")), acme)
    assert form.is_valid(), form.errors
    search = RecordSearch(acme, form.cleaned_data)
    expected = list(search.messages().values_list("pk", flat=True))
    assert len(expected) == 5 and search.count() == 5
    assert {m.campaign_id for m in search[0:5]} == {first.pk, second.pk, api.pk}
    assert [m.pk for m in search[0:5]] == expected
    assert [m.pk for m in search[2:4]] == expected[2:4]
    failed = RecordSearch(acme, {**form.cleaned_data, "status": "failed"})
    assert [m.pk for m in failed[0:20]] == list(failed.messages().values_list("pk", flat=True))
    assert failed.count() == 2


def test_a_record_shows_its_text_history_error_code_and_charge(alice_client, campaign):
    message = campaign.messages.get(phone="+8613800000001")
    response = alice_client.get(reverse("reports:record", args=[message.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "【Spring sale】" in response.context["rendered"] and "A100" in response.context["rendered"]
    assert "The carrier reported it undeliverable (carrier error 001)" in html
    assert 'id="record-error-code">001<' in html
    assert [label for label, _at in response.context["history"]] == ["Planned", "Handed to the provider", "Failed"]
    assert response.context["message"].charged is True


def test_a_refusal_at_the_hand_over_is_not_charged(alice_client, campaign):
    message = campaign.messages.get(phone="+8613800000002")
    # Handed over (submitted_at is the hand-over time) but refused: no provider id.
    Message.objects.filter(pk=message.pk).update(submitted_at=message.done_at)
    response = alice_client.get(reverse("reports:record", args=[message.pk]))
    assert response.context["message"].charged is False
    assert response.context["message"].reason == "Invalid destination number"


def test_the_export_has_every_match_with_the_charged_flag(alice_client, campaign, django_assert_num_queries):
    alice_client.get(RECORDS)
    # session, user, membership; campaigns, campaign rows, audit count, audit insert, the rows
    with django_assert_num_queries(8):
        response = alice_client.get(reverse("reports:records_export", args=["csv"]))
        rows = csv_rows(response)
    header, body = rows[0], rows[1:]
    assert header[-1] == "Charged" and header[1] == "Number"
    charged = {row[1]: row[-1] for row in body}
    assert charged == {
        "+8613800000000": "Yes",  # delivered
        "+8613800000001": "Yes",  # the carrier's failure: the platform policy keeps the charge
        "+8613800000002": "No",  # refused at the hand-over
        "+8613800000003": "Yes",  # expired
        "+8613800000004": "Yes",  # unknown counts as charged
        "+8613800000005": "No",  # skipped: never sent
    }
    entry = AuditLog.objects.get(action="export")
    assert entry.after == {"what": "send_records", "rows": 6, "format": "csv", "masked": False}


def test_a_success_only_policy_refunds_the_carriers_failures(alice_client, campaign, settings):
    settings.SMS_REFUND_POLICY = "success_only"
    rows = csv_rows(alice_client.get(reverse("reports:records_export", args=["csv"]), {"status": "failed"}))
    assert {row[-1] for row in rows[1:]} == {"No"}


def test_the_export_follows_the_search_and_is_formula_safe_in_xlsx(alice_client, campaign):
    campaign.name = "=HYPERLINK(1)"
    campaign.save(update_fields=["name"])
    response = alice_client.get(reverse("reports:records_export", args=["xlsx"]), {"status": "failed"})
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows())
    assert len(rows) == 4
    # A text cell, never a formula.
    assert rows[1][2].value == "=HYPERLINK(1)" and rows[1][2].data_type == "s"
    csv_body = csv_rows(alice_client.get(reverse("reports:records_export", args=["csv"])))
    assert csv_body[1][2] == "'=HYPERLINK(1)"


def test_a_read_only_member_sees_masked_numbers_and_may_export(client, bob, campaign):
    client.force_login(bob)
    html = client.get(RECORDS).content.decode()
    assert "138****0001" in html and "+8613800000001" not in html
    message = campaign.messages.get(phone="+8613800000001")
    assert "+8613800000001" not in client.get(reverse("reports:record", args=[message.pk])).content.decode()
    rows = csv_rows(client.get(reverse("reports:records_export", args=["csv"])))
    assert all("****" in row[1] for row in rows[1:])
    assert AuditLog.objects.get(action="export").after["masked"] is True


def test_another_accounts_records_are_not_found(client, charlie, campaign):
    client.force_login(charlie)
    message = campaign.messages.first()
    assert client.get(reverse("reports:record", args=[message.pk])).status_code == 404
    listed = client.get(RECORDS)
    assert listed_numbers(listed) == []
    own_filters = client.get(RECORDS, {"campaign": campaign.pk})
    assert own_filters.context["page"] is None
    exported = csv_rows(client.get(reverse("reports:records_export", args=["csv"])))
    assert exported[1:] == []
    assert client.get(reverse("reports:records_export", args=["pdf"])).status_code == 404


def test_the_records_need_a_login(client, campaign):
    response = client.get(RECORDS)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_messages_still_queued_show_as_queued(factories, alice_client, acme, shop, campaign):
    Message.objects.filter(campaign=campaign, phone="+8613800000000").update(
        status="queued", submitted_at=None, done_at=None, provider_id=None
    )
    response = alice_client.get(RECORDS, {"status": "queued"})
    assert listed_numbers(response) == ["+8613800000000"]


def test_a_search_of_more_than_the_listed_rows_pages_the_first_ones_and_says_so(
    factories, alice_client, acme, shop, monkeypatch
):
    from reports import records

    monkeypatch.setattr(records, "MAX_LISTED", 30)
    finished_campaign(factories, acme, shop, [DELIVERED] * 35)
    response = alice_client.get(RECORDS)
    assert response.context["page"].paginator.num_pages == 2 and response.context["capped"]
    assert "More than 30 records match: the pages show the first 30" in response.content.decode()
    assert len(alice_client.get(RECORDS, {"page": 2}).context["page"]) == 10


def test_a_record_whose_text_was_purged_says_so(alice_client, campaign):
    message = campaign.messages.get(phone="+8613800000001")
    Message.objects.filter(pk=message.pk).update(variables=[], text_purged_at=timezone.now())
    response = alice_client.get(reverse("reports:record", args=[message.pk]))
    assert response.context["rendered"] is None
    assert "No longer kept" in response.content.decode()
