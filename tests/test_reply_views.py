"""The replies page (reports:replies): an account's replies, searched by number, signature and day,
fifty a page in a fixed number of queries, masked for read-only members, in both languages."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from campaigns.models import Reply
from tests.sending_helpers import create_campaign, create_connection

URL = reverse("reports:replies")


@pytest.fixture
def connection(db):
    return create_connection()


@pytest.fixture
def signature(factories, shop):
    return factories.create_signature(shop, name="Acme", channel_number="10690001")


def add_reply(account, signature, connection, phone="+8613800138000", text="Thanks", at=None, **fields):
    return Reply.objects.create(
        account=account,
        application=signature.application if signature else None,
        signature=signature,
        connection=connection,
        phone=phone,
        destination=signature.channel_number if signature else "999",
        text=text,
        received_at=at or datetime(2026, 6, 1, 4, 0, tzinfo=UTC),
        **fields,
    )


def test_it_lists_the_accounts_replies_newest_first_with_signature_and_last_campaign(
    alice_client, acme, shop, signature, connection, factories
):
    template = factories.create_template(shop, signature=signature)
    campaign = create_campaign(shop, template, connection, name="June sale", status="completed")
    add_reply(acme, signature, connection, text="older", at=datetime(2026, 6, 1, 1, 0, tzinfo=UTC))
    add_reply(acme, signature, connection, text="退订", campaign=campaign, opted_out=True)

    response = alice_client.get(URL)

    assert [r.text for r in response.context["page"]] == ["退订", "older"]
    body = response.content.decode()
    assert "+8613800138000" in body and "【Acme】" in body and "10690001" in body
    assert reverse("campaigns:campaign_detail", args=[campaign.pk]) in body and "June sale" in body
    assert "Opted out" in body


def test_it_shows_nothing_of_another_account(client, charlie, acme, signature, connection):
    add_reply(acme, signature, connection)
    add_reply(None, None, connection, text="to nobody")
    client.force_login(charlie)

    response = client.get(URL)

    assert response.status_code == 200 and list(response.context["page"]) == []
    assert "+8613800138000" not in response.content.decode()


def test_another_accounts_signature_is_not_offered_and_not_accepted_as_a_filter(
    client, charlie, acme, signature, connection
):
    add_reply(acme, signature, connection)
    client.force_login(charlie)

    response = client.get(URL, {"signature": signature.pk})

    assert "Acme" not in str(response.context["form"]["signature"]) and list(response.context["page"]) == []
    assert response.context["form"].errors


def test_search_by_number_signature_and_days_in_the_accounts_time_zone(
    alice_client, acme, shop, signature, connection, factories
):
    other = factories.create_signature(shop, name="Other", channel_number="10690002")
    # Asia/Shanghai is UTC+8: 2026-06-01 20:00 UTC is already 2 June there.
    add_reply(acme, signature, connection, phone="+8613800000001", text="one", at=datetime(2026, 6, 1, 3, tzinfo=UTC))
    add_reply(acme, signature, connection, phone="+8613800000002", text="two", at=datetime(2026, 6, 1, 20, tzinfo=UTC))
    add_reply(acme, other, connection, phone="+8613800000001", text="three", at=datetime(2026, 6, 3, 3, tzinfo=UTC))
    acme.timezone = "Asia/Shanghai"
    acme.save(update_fields=["timezone"])

    def texts(**params):
        response = alice_client.get(URL, params)
        assert response.status_code == 200
        return [r.text for r in response.context["page"]]

    assert texts(q="0000001") == ["three", "one"]
    assert texts(signature=other.pk) == ["three"]
    assert texts(since="2026-06-02", until="2026-06-02") == ["two"]
    assert texts(since="2026-06-02") == ["three", "two"]
    assert texts(until="2026-06-01") == ["one"]
    assert texts(q="13800000001", signature=signature.pk) == ["one"]


def test_a_start_after_the_end_is_refused_with_a_clear_error(alice_client):
    response = alice_client.get(URL, {"since": "2026-06-05", "until": "2026-06-01"})

    assert "The start date is after the end date." in response.content.decode()
    assert list(response.context["page"]) == []


def test_read_only_members_see_masked_numbers_and_find_them_only_by_the_whole_number(
    client, bob, acme, signature, connection
):
    add_reply(acme, signature, connection)
    client.force_login(bob)

    body = client.get(URL).content.decode()
    assert "138****8000" in body and "+8613800138000" not in body
    assert len(client.get(URL, {"q": "8000"}).context["page"]) == 0
    assert len(client.get(URL, {"q": "13800138000"}).context["page"]) == 1


def test_pages_of_fifty_in_a_fixed_number_of_queries(
    alice_client, acme, shop, signature, connection, factories, django_assert_num_queries
):
    template = factories.create_template(shop, signature=signature)
    campaign = create_campaign(shop, template, connection, status="completed")
    start = datetime(2026, 6, 1, tzinfo=UTC)
    Reply.objects.bulk_create(
        Reply(account=acme, application=shop, signature=signature, campaign=campaign, connection=connection,
              phone=f"+86138{n:08d}", destination="10690001", text=f"r{n}", received_at=start + timedelta(minutes=n))
        for n in range(120)
    )  # fmt: skip
    alice_client.get(URL)  # the session and the membership warm up
    with django_assert_num_queries(6):
        first = alice_client.get(URL)
    page = first.context["page"]
    assert len(page) == 50 and page.paginator.num_pages == 3 and page[0].text == "r119"
    with django_assert_num_queries(6):
        last = alice_client.get(URL, {"page": 3, "signature": signature.pk})
    assert len(last.context["page"]) == 20


def test_the_page_reads_in_chinese(alice_client, acme, signature, connection):
    add_reply(acme, signature, connection, text="退订", opted_out=True)
    alice_client.cookies["django_language"] = "zh-hans"

    body = alice_client.get(URL).content.decode()

    assert "上行短信" in body and "已退订" in body and "通道号" in body


def test_the_sidebar_links_to_the_replies_and_the_pushes(alice_client):
    body = alice_client.get(reverse("dashboard")).content.decode()

    assert f'href="{URL}"' in body and f'href="{reverse("reports:pushes")}"' in body


def test_signing_in_is_required(client):
    response = client.get(URL)

    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("params", [{"signature": "²"}, {"signature": "abc"}, {"since": "2026-02-30"}, {"page": "²"}])
def test_malformed_filters_are_a_form_error_not_a_server_error(alice_client, params):
    response = alice_client.get(URL, params)

    assert response.status_code == 200


def test_a_campaigns_page_links_to_the_replies_it_drew(alice_client, acme, shop, signature, connection, factories):
    template = factories.create_template(shop, signature=signature)
    campaign = create_campaign(shop, template, connection, name="June sale", status="completed")
    other = create_campaign(shop, template, connection, name="July sale", status="completed")
    add_reply(acme, signature, connection, text="to June", campaign=campaign)
    add_reply(acme, signature, connection, text="to July", campaign=other)

    detail = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content.decode()
    link = f"{URL}?campaign={campaign.pk}"
    assert link in detail

    response = alice_client.get(link)
    assert [r.text for r in response.context["page"]] == ["to June"]
    assert "Only the replies to one campaign." in response.content.decode()
