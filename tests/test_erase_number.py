from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns.importer import mark_opted_out
from campaigns.models import (
    Campaign,
    Contact,
    ContactList,
    ListImport,
    ListImportRejectedRow,
    Message,
    OptOut,
    Push,
    PushAttempt,
    Recipient,
    RejectedRow,
    Reply,
    SuppressedNumber,
)
from smsconsole.models import AuditLog
from tests.privacy_helpers import create_sent_campaign
from tests.sending_helpers import create_import

NUMBER = "+8613800138000"
OTHER = "+8613900139000"


@pytest.fixture
def acme_data(factories, acme):
    campaign = create_sent_campaign(factories, acme, [(NUMBER, "delivered", 1), (OTHER, "delivered", 1)])
    RejectedRow.objects.create(
        recipient_import=campaign.recipient_import, row_number=9, cells=["138 0013 8000", "x"], reason="duplicate"
    )
    RejectedRow.objects.create(
        recipient_import=campaign.recipient_import, row_number=10, cells=["1390013", "y"], reason="too_short"
    )
    contacts = ContactList.objects.create(account=acme, name="VIP")
    Contact.objects.create(contact_list=contacts, phone=NUMBER, name="Wang")
    Contact.objects.create(contact_list=contacts, phone=OTHER, name="Li")
    list_import = ListImport.objects.create(account=acme, kind="contacts", contact_list=contacts, original_name="a.csv")
    ListImportRejectedRow.objects.create(list_import=list_import, row_number=3, cells=["8613800138000"], reason="dup")
    OptOut.objects.create(account=acme, phone=NUMBER)
    for phone in (NUMBER, OTHER):
        reply = Reply.objects.create(
            account=acme, application=campaign.application, signature=campaign.signature, campaign=campaign,
            connection=campaign.connection, phone=phone, destination="10690001", text="TD",
        )  # fmt: skip
        push = Push.objects.create(
            account=acme, application=campaign.application, kind=Push.Kind.REPLY, dedupe_key=f"reply:{reply.mo_id}",
            url="https://shop.example/mo", body={"smsMsgId": str(reply.mo_id), "from": phone, "body": "TD"},
        )  # fmt: skip
        PushAttempt.objects.create(push=push, number=1, started_at=reply.received_at, status_code=500, error="HTTP 500")
    return campaign


def erase(*args):
    out = StringIO()
    call_command("erase_number", *args, stdout=out)
    return out.getvalue()


def test_it_takes_the_number_out_of_every_table_and_keeps_the_counts(acme, acme_data):
    output = erase("Acme", "13800138000")
    assert not Message.objects.filter(phone=NUMBER).exists()
    erased = Message.objects.get(campaign=acme_data, phone__startswith="#")
    assert erased.phone == f"#{erased.pk}" and erased.variables == [] and erased.status == "delivered"
    assert Message.objects.filter(campaign=acme_data).count() == 2
    campaign = Campaign.objects.with_counters().get(pk=acme_data.pk)
    assert (campaign.total, campaign.delivered) == (2, 2)
    assert list(Recipient.objects.values_list("phone", flat=True)) == [OTHER]
    assert list(RejectedRow.objects.values_list("row_number", flat=True)) == [10]
    assert list(Contact.objects.values_list("phone", flat=True)) == [OTHER]
    assert not ListImportRejectedRow.objects.exists()
    assert not OptOut.objects.exists()
    assert SuppressedNumber.objects.filter(account=acme).count() == 1
    assert list(Reply.objects.values_list("phone", flat=True)) == [OTHER]
    assert [push.body["from"] for push in Push.objects.all()] == [OTHER]
    assert PushAttempt.objects.count() == 1
    assert "+86138****8000" in output and "13800138000" not in output
    for line in ("1  messages anonymised", "1  recipient import rows deleted", "1  contacts deleted", "1  replies"):
        assert line in output


def test_it_is_audited_without_the_number(acme, acme_data):
    erase(str(acme.pk), NUMBER)
    entry = AuditLog.objects.get(account=acme, action="erase_number")
    assert entry.after["messages"] == 1 and entry.after["opt_outs"] == 1
    assert "8000" not in str(entry.after) + entry.object_repr


def test_a_dry_run_changes_nothing_and_says_what_would_change(acme, acme_data):
    output = erase("Acme", NUMBER, "--dry-run")
    assert "dry run" in output and "1  messages anonymised" in output
    assert Message.objects.filter(phone=NUMBER).count() == 1
    assert OptOut.objects.filter(phone=NUMBER).exists()
    assert Contact.objects.filter(phone=NUMBER).exists()
    assert not SuppressedNumber.objects.exists()
    assert not AuditLog.objects.filter(action="erase_number").exists()


def test_another_accounts_copy_of_the_number_stays(factories, acme, other_co, acme_data):
    theirs = create_sent_campaign(factories, other_co, [(NUMBER, "delivered", 1)], name="Theirs")
    OptOut.objects.create(account=other_co, phone=NUMBER)
    erase("Acme", NUMBER)
    assert Message.objects.filter(campaign=theirs, phone=NUMBER).exists()
    assert OptOut.objects.filter(account=other_co, phone=NUMBER).exists()


def test_an_erased_opt_out_still_keeps_the_number_from_being_messaged_when_it_comes_back(factories, acme, acme_data):
    erase("Acme", NUMBER)
    application = acme_data.application
    again = create_import(application, acme_data.template, [NUMBER, OTHER])
    assert mark_opted_out(again) == 1
    assert Recipient.objects.get(recipient_import=again, phone=NUMBER).opted_out
    assert OptOut.objects.filter(account=acme, phone=NUMBER).exists()


def test_a_second_erase_finds_nothing(acme, acme_data):
    erase("Acme", NUMBER)
    output = erase("Acme", NUMBER)
    assert "0  messages anonymised" in output and "0  contacts deleted" in output


def test_it_refuses_an_unknown_account_or_a_non_number(acme):
    with pytest.raises(CommandError, match="No single account"):
        erase("Nobody", NUMBER)
    with pytest.raises(CommandError, match="not a number"):
        erase("Acme", "hello")


def test_an_erased_opt_out_comes_back_when_the_number_is_added_to_a_contact_list(acme, acme_data, alice_client):
    from django.urls import reverse

    erase("Acme", NUMBER)
    contact_list = ContactList.objects.get(account=acme, name="VIP")
    response = alice_client.post(
        reverse("campaigns:contact_create", args=[contact_list.pk]), {"phone": NUMBER, "name": "Wang", "region": "CN"}
    )
    assert response.status_code == 302, response.context["form"].errors
    assert OptOut.objects.filter(account=acme, phone=NUMBER).exists()
    assert not OptOut.objects.filter(account=acme, phone=OTHER).exists()


def test_the_accounts_audit_page_lists_the_erase_in_both_languages(acme, acme_data, alice_client):
    from django.urls import reverse

    erase("Acme", NUMBER)
    assert "Number erased" in alice_client.get(reverse("accounts:audit_log")).content.decode()
    alice_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "号码已删除" in alice_client.get(reverse("accounts:audit_log")).content.decode()


def test_a_batch_of_status_reports_keeps_the_other_recipients_reports(acme, acme_data):
    campaign = acme_data
    report = {"smsMsgId": "m1", "status": "DELIVRD", "to": NUMBER}
    other = {"smsMsgId": "m2", "status": "DELIVRD", "to": OTHER}
    mixed = Push.objects.create(
        account=acme, application=campaign.application, kind=Push.Kind.BATCH_STATUS, dedupe_key="batch:1",
        url="https://shop.example/report", body={"statusReportList": [report, other]},
    )  # fmt: skip
    alone = Push.objects.create(
        account=acme, application=campaign.application, kind=Push.Kind.BATCH_STATUS, dedupe_key="batch:2",
        url="https://shop.example/report", body={"statusReportList": [report]},
    )  # fmt: skip
    erase(str(acme.pk), NUMBER)
    mixed.refresh_from_db()
    assert mixed.body == {"statusReportList": [other]}
    assert not Push.objects.filter(pk=alone.pk).exists()
