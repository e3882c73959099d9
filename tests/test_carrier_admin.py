"""Staff record the carrier's answers on the review desk one signature at a time, mark legacy
signatures and decide activation requests; each decision audited and mailed to the contacts."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from campaigns import money
from smsconsole.models import AuditLog
from templates_app.models import Signature

pytestmark = pytest.mark.django_db

S = Signature.Status


@pytest.fixture
def rita_client(client, rita):
    client.force_login(rita)
    return client


@pytest.fixture
def ops(factories, acme):
    return factories.create_contact(acme, name="Ops", email="ops@acme.example")


def admin_url(name, signature):
    return reverse(f"admin:templates_app_signature_{name}", args=[signature.pk])


def act(client, action, signatures, **extra):
    data = {"action": action, "_selected_action": [s.pk for s in signatures], **extra}
    return client.post(reverse("admin:templates_app_signature_changelist") + "?status=all", data)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_filed_signatures_page_offers_the_carriers_answers_and_nothing_else(rita_client, factories, shop):
    filing = factories.create_signature(shop, name="Filing", status=S.FILING)

    page = rita_client.get(reverse("admin:templates_app_signature_change", args=[filing.pk])).content.decode()

    assert admin_url("carrier_approve", filing) in page and admin_url("carrier_reject", filing) in page
    assert admin_url("approve", filing) not in page and admin_url("activation_approve", filing) not in page


def test_the_carriers_approval_with_its_channel_number_is_recorded_audited_and_mailed(
    rita_client, rita, factories, shop, acme, ops, mailoutbox, django_capture_on_commit_callbacks
):
    filing = factories.create_signature(shop, name="Filing", status=S.FILING)

    form = rita_client.get(admin_url("carrier_approve", filing))
    with django_capture_on_commit_callbacks(execute=True):
        done = rita_client.post(admin_url("carrier_approve", filing), {"apply": "yes", "channel_number": "10690042"})

    assert form.status_code == 200 and "channel_number" in form.context["form"].fields
    assert done.status_code == 302
    filing.refresh_from_db()
    assert (filing.status, filing.channel_number, filing.carrier_answered_by) == (S.APPROVED, "10690042", rita)
    entry = AuditLog.objects.get(action="carrier_approved", object_id=str(filing.pk))
    assert (entry.actor, entry.account, entry.before) == (rita, acme, {"status": "filing"})
    assert entry.after["channel_number"] == "10690042"
    [mail] = mailoutbox
    assert "Channel number: 10690042" in mail.body


def test_a_malformed_channel_number_is_refused_on_the_form(rita_client, factories, shop):
    filing = factories.create_signature(shop, name="Filing", status=S.FILING)

    response = rita_client.post(admin_url("carrier_approve", filing), {"apply": "yes", "channel_number": "1069-42"})

    assert response.status_code == 200 and "channel_number" in response.context["form"].errors
    filing.refresh_from_db()
    assert filing.status == S.FILING and not AuditLog.objects.exists()


def test_the_carriers_refusal_needs_its_reason_and_mails_it(
    rita_client, factories, shop, ops, mailoutbox, django_capture_on_commit_callbacks
):
    filing = factories.create_signature(shop, name="Filing", status=S.FILING)

    empty = rita_client.post(admin_url("carrier_reject", filing), {"apply": "yes", "carrier_reason": ""})
    with django_capture_on_commit_callbacks(execute=True):
        rita_client.post(
            admin_url("carrier_reject", filing), {"apply": "yes", "carrier_reason": "签名与营业执照主体不符"}
        )

    assert empty.status_code == 200 and "carrier_reason" in empty.context["form"].errors
    filing.refresh_from_db()
    assert (filing.status, filing.carrier_reason) == (S.FILING_FAILED, "签名与营业执照主体不符")
    [mail] = mailoutbox
    assert mail.subject == "[smsconsole] Signature 【Filing】 rejected by the carrier / 签名实名报备失败"
    assert (
        "The carrier's reason: 签名与营业执照主体不符" in mail.body
        and "运营商原因：签名与营业执照主体不符" in mail.body
    )
    assert "Correct the signature's materials and submit it again" in mail.body
    assert AuditLog.objects.get(action="carrier_rejected").after["carrier_reason"] == "签名与营业执照主体不符"


def test_the_bulk_action_approves_what_waits_for_the_carrier_and_skips_the_rest(rita_client, factories, shop):
    first = factories.create_signature(shop, name="First", status=S.FILING)
    legacy = factories.create_signature(shop, name="Legacy", status=S.LEGACY_FILING, channel_number="106900000555")
    pending = factories.create_signature(shop, name="Pending", status=S.PENDING_REVIEW)

    asked = act(rita_client, "carrier_approve_selected", [first, legacy, pending])
    response = act(
        rita_client, "carrier_approve_selected", [first, legacy, pending], apply="yes", channel_number="1069"
    )

    # One number cannot be every signature's: the form for several asks for none.
    assert asked.status_code == 200 and "channel_number" not in asked.context["form"].fields
    for signature in (first, legacy, pending):
        signature.refresh_from_db()
    assert first.status == legacy.status == S.APPROVED
    assert first.channel_number.startswith("1069") and legacy.channel_number == "106900000555"
    assert pending.status == S.PENDING_REVIEW
    assert "2 signatures recorded as approved by the carrier." in messages_of(response)
    assert any("Pending" in message and "skipped" in message for message in messages_of(response))


def test_the_queue_filter_shows_what_waits_for_the_carrier(rita_client, factories, shop):
    factories.create_signature(shop, name="New", status=S.FILING)
    factories.create_signature(shop, name="Old", status=S.LEGACY_FILING)
    factories.create_signature(shop, name="Done")

    page = rita_client.get(reverse("admin:templates_app_signature_changelist") + "?status=with_carrier")

    assert sorted(s.name for s in page.context["cl"].result_list) == ["New", "Old"]


def test_marking_a_signature_legacy_asks_its_contacts_for_the_qualification(
    rita_client, factories, shop, ops, mailoutbox, django_capture_on_commit_callbacks
):
    signature = factories.create_signature(shop, name="Old")

    page = rita_client.get(reverse("admin:templates_app_signature_change", args=[signature.pk])).content.decode()
    refused = rita_client.get(admin_url("mark_legacy", signature))
    with django_capture_on_commit_callbacks(execute=True):
        rita_client.post(admin_url("mark_legacy", signature))

    assert admin_url("mark_legacy", signature) in page and refused.status_code == 405
    signature.refresh_from_db()
    assert signature.status == S.LEGACY_UNQUALIFIED and signature.qualification is None
    assert AuditLog.objects.filter(action="mark_legacy", object_id=str(signature.pk)).exists()
    [mail] = mailoutbox
    assert "needs its owner's qualification" in mail.body and "It can still send" in mail.body


def test_an_activation_is_approved_back_to_the_state_the_signature_had(
    rita_client, factories, shop, ops, mailoutbox, django_capture_on_commit_callbacks
):
    signature = factories.create_signature(
        shop, name="Back", status=S.PENDING_ACTIVATION, restore_status=S.LEGACY_FILING_FAILED
    )

    with django_capture_on_commit_callbacks(execute=True):
        rita_client.post(admin_url("activation_approve", signature))

    signature.refresh_from_db()
    assert (signature.status, signature.restore_status) == (S.LEGACY_FILING_FAILED, "")
    [mail] = mailoutbox
    assert mail.subject == "[smsconsole] Signature 【Back】 activated / 签名已激活"
    assert "has been activated." in mail.body and "It can send again." in mail.body


def test_an_activation_is_refused_while_the_balance_is_negative(rita_client, factories, shop, acme):
    money.correct(acme, Decimal("-5"), "May invoice unpaid")
    signature = factories.create_signature(shop, name="Back", status=S.PENDING_ACTIVATION)

    response = rita_client.post(admin_url("activation_approve", signature), follow=True)

    signature.refresh_from_db()
    assert signature.status == S.PENDING_ACTIVATION
    assert any("balance is still negative" in message for message in messages_of(response))


def test_a_rejected_activation_gives_its_reason_from_the_activation_catalogue(
    rita_client, factories, shop, ops, mailoutbox, django_capture_on_commit_callbacks
):
    signature = factories.create_signature(shop, name="Back", status=S.PENDING_ACTIVATION)

    form = rita_client.get(admin_url("activation_reject", signature))
    with django_capture_on_commit_callbacks(execute=True):
        rita_client.post(
            admin_url("activation_reject", signature), {"apply": "yes", "reason_code": "act_owner_changed"}
        )

    codes = [code for code, _label in form.context["form"].fields["reason_code"].choices]
    assert "act_unpaid" in codes and "sig_neutral" not in codes
    signature.refresh_from_db()
    assert (signature.status, signature.reason_code, signature.restore_status) == (
        S.TO_BE_ACTIVATED,
        "act_owner_changed",
        S.APPROVED,
    )
    [mail] = mailoutbox
    assert "was not activated" in mail.body and "its owner or materials changed" in mail.body


@pytest.mark.parametrize("user", ["alice", "bob", "charlie"])
def test_account_members_cannot_record_carrier_answers(client, request, factories, shop, user):
    filing = factories.create_signature(shop, name="Filing", status=S.FILING)
    client.force_login(request.getfixturevalue(user))

    response = client.post(admin_url("carrier_approve", filing), {"apply": "yes"})

    assert response.status_code == 302 and "/login/" in response["Location"]
    filing.refresh_from_db()
    assert filing.status == S.FILING
