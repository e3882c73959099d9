"""Notices by SMS (campaigns.notices): review results and traffic alerts reach the contacts who
turned on "also by SMS" as a campaign of the system account, planned by the engine like any
other; exempt from quotas and the balance, not from opt-outs; each occasion told once.
tests/test_sms_notices_integration.py sends one through a real worker, gateway and simulator."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from campaigns import money, notices, quotas, sending_rules
from campaigns.models import AccountLimits, Campaign, LedgerEntry, Message, Notice, OptOut, QuotaUsage
from campaigns.tasks import plan_campaign
from smsconsole.models import Account
from templates_app.models import NotificationContact
from tests.sending_helpers import create_campaign, create_connection, phones, sending_redis  # noqa: F401

OPS_PHONE = "+8613900000001"


@pytest.fixture
def out(db):
    return create_connection(name="simulator")


@pytest.fixture
def contacts(factories, acme, other_co):
    return {
        "sms": factories.create_contact(
            acme, name="Ops", email="ops@acme.example", phone=OPS_PHONE, notify_by_sms=True
        ),
        "mail_only": factories.create_contact(acme, name="Boss", email="boss@acme.example", phone="+8613900000002"),
        "no_templates": factories.create_contact(
            acme,
            name="Sig",
            email="sig@acme.example",
            phone="+8613900000003",
            notify_by_sms=True,
            notify_template=False,
        ),
        "other": factories.create_contact(
            other_co, name="Other", email="o@other.example", phone="+8613900000004", notify_by_sms=True
        ),
    }


def notice_messages(kind=None):
    system = Account.objects.get(is_system=True)
    found = Message.objects.filter(campaign__account=system)
    if kind:
        found = found.filter(campaign__in=Notice.objects.filter(kind=kind).values("campaign"))
    return found


def reject(client, template):
    data = {
        "action": "reject_selected",
        "_selected_action": [template.pk],
        "apply": "yes",
        "reason_code": "tpl_no_opt_out",
        "reason_text": "Add an opt-out.",
    }
    return client.post(reverse("admin:templates_app_template_changelist"), data)


def test_a_rejected_template_is_texted_to_the_contacts_who_take_template_results_by_sms(
    client, rita, factories, shop, contacts, out, sending_redis, django_capture_on_commit_callbacks
):
    template = factories.create_template(shop, name="Sale", content="Big sale today", status="pending_review")
    client.force_login(rita)
    with django_capture_on_commit_callbacks(execute=True):
        reject(client, template)

    notice = Notice.objects.get(account=shop.account, kind="review")
    assert notice.recipients == 1
    campaign = notice.campaign
    assert campaign.account.is_system and campaign.status == Campaign.Status.RUNNING
    assert campaign.signature.name == "smsconsole" and campaign.template.type == "notification"
    assert campaign.shared_variables == [
        "Acme: The template “Sale” was rejected. Reason: Content: a promotion without an opt-out"
    ]
    assert list(notice_messages().values_list("phone", "status")) == [(OPS_PHONE, "queued")]
    assert sorted(m.to[0] for m in mail.outbox) == ["boss@acme.example", "ops@acme.example"]  # mail as before


def test_the_notice_is_written_in_the_configured_language(
    client, rita, factories, shop, contacts, out, sending_redis, settings, django_capture_on_commit_callbacks
):
    settings.SMS_NOTICE_LANGUAGE = "zh-hans"
    template = factories.create_template(shop, name="Sale", content="Big sale today", status="pending_review")
    client.force_login(rita)
    with django_capture_on_commit_callbacks(execute=True):
        reject(client, template)
    (text,) = Notice.objects.get(kind="review").campaign.shared_variables
    assert text.startswith("Acme：模板“Sale”审核不通过。原因：")


def test_a_decision_is_texted_once_however_often_its_task_runs(
    factories, shop, contacts, out, sending_redis, django_capture_on_commit_callbacks
):
    from templates_app.notifications import send_review_result

    signature = factories.create_signature(shop)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_review_result("signature", signature.pk)["sms"] == 2  # "sms" and "no_templates"
        assert send_review_result("signature", signature.pk)["skipped"] == "already_notified"
        signature.refresh_from_db()
        again = notices.tell_review_result(
            "signature", signature, "approved", "notify_signature", signature.result_notified_at
        )
    assert again is None
    assert Notice.objects.count() == 1 and notice_messages().count() == 2


def test_a_contact_who_opted_out_of_the_system_signature_is_skipped(
    factories, shop, contacts, out, sending_redis, django_capture_on_commit_callbacks
):
    from templates_app.notifications import send_review_result

    system = notices.system_sender().account
    OptOut.objects.create(account=system, phone=OPS_PHONE)
    template = factories.create_template(shop, name="Sale", status="rejected", reason_code="tpl_no_opt_out")
    with django_capture_on_commit_callbacks(execute=True):
        send_review_result("template", template.pk)

    assert list(notice_messages().values_list("phone", "status", "skip_reason")) == [(OPS_PHONE, "skipped", "opt_out")]


def test_the_system_sender_is_created_once_and_follows_its_settings(db, settings):
    first = notices.system_sender()
    settings.SMS_SYSTEM_SIGNATURE, settings.SMS_SYSTEM_CHANNEL_NUMBER = "ConsoleOps", "10691"
    second = notices.system_sender()
    assert first.account == second.account and Account.objects.filter(is_system=True).count() == 1
    assert (second.signature.pk, second.signature.name, second.signature.channel_number) == (
        first.signature.pk,
        "ConsoleOps",
        "10691",
    )
    assert second.signature.can_send and second.template.status == "active"


def test_no_sms_without_a_connection_but_the_notice_is_recorded(factories, shop, contacts, db):
    from templates_app.notifications import send_review_result

    signature = factories.create_signature(shop)
    assert send_review_result("signature", signature.pk)["sms"] == 0
    assert Notice.objects.get(kind="review").campaign is None


def test_a_quota_alert_is_texted_once_per_period(
    acme, contacts, out, sending_redis, django_capture_on_commit_callbacks
):
    AccountLimits.objects.update_or_create(account=acme, defaults={"daily_alert": 5, "daily_limit": 100})
    with time_machine.travel(datetime(2026, 12, 1, 4, 0, tzinfo=UTC), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            quotas.reserve(acme.pk, 6)
        with django_capture_on_commit_callbacks(execute=True):
            quotas.reserve(acme.pk, 6)
    notice = Notice.objects.get(account=acme, kind="quota_alert")
    assert notice.key == "day:2026-12-01" and notice.recipients == 2  # "sms" and "no_templates" (traffic on)
    assert notice.text == "“Acme” reached its daily alert threshold. Used: 6 messages."
    row = QuotaUsage.objects.get(account=acme, period="day")
    assert quotas.send_mail(row.pk, quotas.ALERT)["skipped"] == "already_mailed"
    assert Notice.objects.filter(kind="quota_alert").count() == 1


def test_the_system_account_sends_outside_quotas_and_the_balance(out, sending_redis, settings):
    settings.SMS_BATCH_SIZE = 1000
    sender = notices.system_sender()
    AccountLimits.objects.update_or_create(account=sender.account, defaults={"daily_limit": 1})
    campaign = Campaign.objects.create(
        account=sender.account,
        application=sender.application,
        signature=sender.signature,
        template=sender.template,
        connection=out,
        name="Notice",
        contact_list=_contact_list(sender.account, phones(3)),
        shared_variables=["A notice."],
        status="running",
    )
    plan_campaign(campaign.pk)
    chunk = list(
        Message.objects.filter(campaign=campaign).order_by("id").values_list("id", "phone", "variables", "segments")
    )

    verdict = sending_rules.claim(campaign.pk, chunk)

    assert len(verdict.attempts) == 3 and not verdict.hold
    assert not LedgerEntry.objects.filter(account=sender.account).exists()
    assert Account.objects.get(pk=sender.account.pk).balance == 0
    assert not QuotaUsage.objects.filter(account=sender.account, used__gt=0).exists()


def _contact_list(account, numbers):
    from campaigns.models import Contact, ContactList

    audience = ContactList.objects.create(account=account, name="audience")
    Contact.objects.bulk_create([Contact(contact_list=audience, phone=phone) for phone in numbers])
    return audience


def test_a_campaign_held_for_its_balance_tells_the_traffic_contacts_once_a_day(
    factories, shop, contacts, out, sending_redis, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BATCH_SIZE = 1000
    template = factories.create_template(shop, content="Order shipped.")
    campaign = create_campaign(shop, template, out, phones(3), status="running", funded=False)
    money.top_up(shop.account, Decimal("0.1"))
    plan_campaign(campaign.pk)
    chunk = list(
        Message.objects.filter(campaign=campaign).order_by("id").values_list("id", "phone", "variables", "segments")
    )

    with django_capture_on_commit_callbacks(execute=True):
        verdict = sending_rules.claim(campaign.pk, chunk)
    assert verdict.hold == "balance" and len(verdict.attempts) == 1

    notice = Notice.objects.get(account=shop.account, kind="balance_insufficient")
    assert notice.recipients == 2
    assert "cannot pay for the next messages" in notice.text
    traffic = [m for m in mail.outbox if "cannot pay" in m.subject]
    assert sorted(address for m in traffic for address in m.to) == [
        "boss@acme.example", "ops@acme.example", "sig@acme.example"
    ]  # fmt: skip
    assert "余额" in traffic[0].body
    assert notices.send_balance(shop.account_id, "balance_insufficient")["skipped"] == "already_told"


def test_a_charge_below_the_alert_threshold_tells_the_traffic_contacts(
    factories, shop, contacts, out, sending_redis, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BATCH_SIZE = 1000
    settings.SMS_BALANCE_ALERT = "1"
    template = factories.create_template(shop, content="Order shipped.")
    campaign = create_campaign(shop, template, out, phones(3), status="running", funded=False)
    money.top_up(shop.account, Decimal("1.1"))
    plan_campaign(campaign.pk)
    chunk = list(
        Message.objects.filter(campaign=campaign).order_by("id").values_list("id", "phone", "variables", "segments")
    )

    with django_capture_on_commit_callbacks(execute=True):
        sending_rules.claim(campaign.pk, chunk[:1])  # 1.1 → 1.035: still at or above 1
    assert not Notice.objects.filter(kind="balance_low").exists()
    with django_capture_on_commit_callbacks(execute=True):
        sending_rules.claim(campaign.pk, chunk[1:])  # → 0.905

    notice = Notice.objects.get(account=shop.account, kind="balance_low")
    assert notice.text == "Acme: The balance is 0.91 CNY, below the alert threshold of 1 CNY."


def test_the_contact_form_needs_a_phone_for_sms(alice_client, acme):
    response = alice_client.post(
        reverse("templates_app:contact_create"),
        {"name": "Ops", "email": "ops@acme.example", "phone": "", "notify_by_sms": "on", "notify_template": "on"},
    )
    assert response.status_code == 200
    assert "Enter the phone number the SMS notices go to." in response.content.decode()
    assert not NotificationContact.objects.exists()
    alice_client.post(
        reverse("templates_app:contact_create"),
        {"name": "Ops", "email": "ops@acme.example", "phone": "13900000001", "notify_by_sms": "on"},
    )
    contact = NotificationContact.objects.get()
    assert (contact.phone, contact.notify_by_sms) == (OPS_PHONE, True)
    page = alice_client.get(reverse("templates_app:contact_list")).content.decode()
    assert "By SMS" in page


def test_signatures_waiting_for_activation_are_texted_to_the_signature_contacts(
    factories, shop, contacts, out, sending_redis, django_capture_on_commit_callbacks
):
    from templates_app.notifications import send_to_be_activated

    ready = factories.create_signature(shop, name="Ready", status="to_be_activated")
    old = factories.create_signature(shop, name="Old", status="to_be_activated")
    with django_capture_on_commit_callbacks(execute=True):
        assert send_to_be_activated(shop.account_id, [ready.pk, old.pk])["sms"] == 2  # "sms" and "no_templates"
        assert send_to_be_activated(shop.account_id, [ready.pk, old.pk])["skipped"] == "already_notified"
    notice = Notice.objects.get(account=shop.account)
    assert notice.text == "Acme: These signatures wait for activation after the arrears: 【Old】, 【Ready】."
    assert sorted(notice_messages().values_list("phone", flat=True)) == [OPS_PHONE, "+8613900000003"]
