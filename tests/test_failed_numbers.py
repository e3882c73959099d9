"""A campaign's failed numbers: the download from its page, the command for scripts, and "Resend to
failed", a draft for exactly those numbers with the values they were sent with."""

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.models import Campaign, Message, Recipient
from smsconsole.models import AuditLog
from tests.results_helpers import DELIVERED, EXPIRED, REFUSED, SKIPPED, UNDELIVERED, UNKNOWN, finished_campaign

FAILED = ["+8613800000001", "+8613800000002", "+8613800000003"]


@pytest.fixture
def campaign(factories, acme, shop):
    return finished_campaign(factories, acme, shop, [DELIVERED, UNDELIVERED, REFUSED, EXPIRED, UNKNOWN, SKIPPED])


def download(client, campaign, fmt):
    return client.get(reverse("reports:failed_numbers", args=[campaign.pk, fmt]))


def test_the_csv_has_the_failed_and_expired_numbers_under_a_phone_header(
    alice_client, campaign, django_assert_num_queries
):
    alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk]))
    # session, user, membership; the campaign, the audit count and its entry, the numbers
    with django_assert_num_queries(7):
        response = download(alice_client, campaign, "csv")
        body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(body))) == [["phone"], *([n] for n in FAILED)]
    assert AuditLog.objects.get(action="export").after == {
        "what": "failed_numbers",
        "rows": 3,
        "format": "csv",
        "masked": False,
    }


def test_the_xlsx_has_them_as_text_cells(alice_client, campaign, django_assert_num_queries):
    alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk]))
    with django_assert_num_queries(7):
        response = download(alice_client, campaign, "xlsx")
        content = b"".join(response.streaming_content)
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows())
    assert [row[0].value for row in rows] == ["phone", *FAILED]
    assert {row[0].data_type for row in rows} == {"s"}


def test_a_read_only_member_downloads_them_masked_and_cannot_resend(client, bob, campaign):
    client.force_login(bob)
    body = b"".join(download(client, campaign, "csv").streaming_content).decode("utf-8-sig")
    assert "+8613800000001" not in body and "138****0001" in body
    assert client.post(reverse("reports:resend_failed", args=[campaign.pk])).status_code == 403
    assert Campaign.objects.count() == 1


def test_another_accounts_campaign_is_not_found(client, charlie, campaign):
    client.force_login(charlie)
    assert download(client, campaign, "csv").status_code == 404
    assert client.post(reverse("reports:resend_failed", args=[campaign.pk])).status_code == 404
    assert Campaign.objects.count() == 1


def test_an_unknown_format_is_not_found(alice_client, campaign):
    assert download(alice_client, campaign, "pdf").status_code == 404


def test_the_command_writes_one_number_per_row(campaign, tmp_path):
    out = io.StringIO()
    call_command("export_failed_numbers", str(campaign.pk), stdout=out)
    assert out.getvalue().splitlines() == ["phone", *FAILED]
    path = tmp_path / "failed.xlsx"
    call_command("export_failed_numbers", str(campaign.pk), "--format", "xlsx", "--output", str(path))
    assert [row[0] for row in load_workbook(path).active.iter_rows(values_only=True)] == ["phone", *FAILED]
    csv_path = tmp_path / "failed.csv"
    call_command("export_failed_numbers", str(campaign.pk), "--output", str(csv_path))
    assert csv_path.read_text().splitlines() == ["phone", *FAILED]


def test_the_command_refuses_a_campaign_that_does_not_exist(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No campaign 999"):
        call_command("export_failed_numbers", "999")


def test_resend_makes_a_draft_for_exactly_the_failed_numbers_with_their_values(factories, alice_client, acme, shop):
    campaign = finished_campaign(factories, acme, shop, [DELIVERED, UNDELIVERED, EXPIRED])
    campaign.messages.filter(phone="+8613800000002").update(variables=["B200", "李四"])
    response = alice_client.post(reverse("reports:resend_failed", args=[campaign.pk]))
    draft = Campaign.objects.exclude(pk=campaign.pk).get()
    assert response.status_code == 302 and response["Location"] == reverse("campaigns:campaign_edit", args=[draft.pk])
    assert draft.status == Campaign.Status.DRAFT
    assert (draft.template_id, draft.signature_id, draft.application_id, draft.mode) == (
        campaign.template_id,
        campaign.signature_id,
        campaign.application_id,
        campaign.mode,
    )
    recipients = draft.recipient_import
    assert (
        recipients.status == "completed" and recipients.accepted == 2 and recipients.template_id == campaign.template_id
    )
    rows = list(
        Recipient.objects.filter(recipient_import=recipients).order_by("row_number").values_list("phone", "variables")
    )
    assert rows == [("+8613800000001", ["A100", "张三"]), ("+8613800000002", ["B200", "李四"])]
    # The campaign form takes the new audience as it is.
    form = alice_client.get(response["Location"])
    assert form.status_code == 200
    assert form.context["form"].initial["audience"] == f"import:{recipients.pk}"
    assert AuditLog.objects.filter(action="resend_failed", object_id=str(draft.pk)).exists()
    assert alice_client.get(reverse("campaigns:import_detail", args=[recipients.pk])).status_code == 200


def test_a_draft_made_for_failed_numbers_plans_those_numbers(factories, alice_client, acme, shop):
    from campaigns import planning

    campaign = finished_campaign(factories, acme, shop, [DELIVERED, UNDELIVERED, REFUSED])
    alice_client.post(reverse("reports:resend_failed", args=[campaign.pk]))
    draft = Campaign.objects.exclude(pk=campaign.pk).get()
    Campaign.objects.filter(pk=draft.pk).update(status=Campaign.Status.RUNNING)
    planning.plan(draft.pk)
    assert sorted(draft.messages.values_list("phone", flat=True)) == ["+8613800000001", "+8613800000002"]


def test_resend_with_nothing_failed_makes_no_draft(factories, alice_client, acme, shop):
    campaign = finished_campaign(factories, acme, shop, [DELIVERED, UNKNOWN])
    response = alice_client.post(reverse("reports:resend_failed", args=[campaign.pk]), follow=True)
    assert "nothing to send again" in response.content.decode()
    assert Campaign.objects.count() == 1


def test_resend_leaves_out_numbers_erased_or_whose_values_were_purged(factories, alice_client, acme, shop):
    campaign = finished_campaign(factories, acme, shop, [UNDELIVERED, UNDELIVERED, EXPIRED])
    first, second, third = campaign.messages.order_by("id")
    Message.objects.filter(pk=second.pk).update(phone=f"#{second.pk}", variables=[])  # erase_number's marker
    Message.objects.filter(pk=third.pk).update(variables=[], text_purged_at=timezone.now())  # text retention
    alice_client.post(reverse("reports:resend_failed", args=[campaign.pk]))
    draft = Campaign.objects.exclude(pk=campaign.pk).get()
    assert list(draft.recipient_import.recipients.values_list("phone", flat=True)) == [first.phone]
