"""Masking on the results pages and exports (replies, and the pages branches add beside them), for
each role: operators see numbers whole, read-only members masked unless the account grants them
full numbers. The list and import pages are walked in test_number_visibility."""

import pytest
from django.urls import reverse

from campaigns.models import Reply
from tests.privacy_helpers import create_sent_campaign

FULL, MASKED = "+8613800138000", "+86138****8000"
VIEWERS = ["operator", "read_only", "read_only_granted"]


@pytest.fixture
def viewer(request, client, alice, bob, acme):
    role = request.param
    if role == "read_only_granted":
        acme.read_only_full_numbers = True
        acme.save(update_fields=["read_only_full_numbers"])
    client.force_login(alice if role == "operator" else bob)
    return "masked" if role == "read_only" else "full"


@pytest.fixture
def campaign(factories, acme):
    campaign = create_sent_campaign(factories, acme, [(FULL, "submitted", 2), ("+8613900139000", "delivered", 1)])
    Reply.objects.create(
        account=acme, application=campaign.application, signature=campaign.signature, campaign=campaign,
        connection=campaign.connection, phone=FULL, destination="10690001", text="TD",
    )  # fmt: skip
    return campaign


def expect(text, shown):
    if shown == "full":
        assert FULL in text and MASKED not in text
    else:
        assert MASKED in text and FULL not in text


def get(client, name, *args, **params):
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
def test_the_replies_page(client, viewer, campaign):
    expect(get(client, "reports:replies"), viewer)
    expect(get(client, "reports:replies", campaign=campaign.pk), viewer)


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
def test_the_pushes_page_shows_no_number(client, viewer, campaign):
    html = get(client, "reports:pushes")
    assert FULL not in html and MASKED not in html


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
def test_the_diagnostics_list_of_messages_waiting_for_a_receipt(client, viewer, campaign):
    expect(get(client, "reports:diagnostics", campaign.pk, hours=1), viewer)


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
def test_the_statistics_page_and_export_show_no_number(client, viewer, campaign):
    for text in (get(client, "reports:statistics"), get(client, "reports:statistics_export", "csv")):
        assert FULL not in text and MASKED not in text


@pytest.fixture
def failed_campaign(factories, acme):
    return create_sent_campaign(factories, acme, [(FULL, "failed", 0)], name="Autumn")


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
def test_the_send_records_list_detail_and_export(client, viewer, failed_campaign):
    from campaigns.models import Message

    expect(get(client, "reports:records", campaign=failed_campaign.pk), viewer)
    message = Message.objects.get(campaign=failed_campaign)
    expect(get(client, "reports:record", message.pk), viewer)
    expect(get(client, "reports:records_export", "csv", campaign=failed_campaign.pk), viewer)


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
def test_the_failed_numbers_export(client, viewer, failed_campaign):
    expect(get(client, "reports:failed_numbers", failed_campaign.pk, "csv"), viewer)
