"""The operator's side of filing, back-filling and activation in the console: what the carrier
refused is corrected and filed again, legacy signatures show their banner and take a qualification,
signatures waiting for activation are asked for; another account sees none of it."""

from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns import money
from smsconsole.models import AuditLog
from templates_app.models import Signature

pytestmark = pytest.mark.django_db

S = Signature.Status


def url(name, *args):
    return reverse(f"templates_app:{name}", args=args)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def refused(factories, shop, rita):
    signature = factories.create_signature(shop, name="Acme", status=S.FILING, description="Order notices")
    signature.carrier_reject(rita, "Licence holder differs from the shop owner")
    return signature


@pytest.fixture
def legacy(factories, shop):
    signature = factories.create_signature(shop, name="Old")
    signature.mark_legacy()
    return signature


# --- Corrected after the carrier's refusal ----------------------------------------------------


def test_a_refused_signature_shows_the_carriers_reason_and_the_way_to_correct_it(alice_client, refused):
    page = alice_client.get(url("signature_detail", refused.pk)).content.decode()
    assert "Licence holder differs from the shop owner" in page
    assert url("signature_edit", refused.pk) in page and 'id="correct-signature"' in page


def test_correcting_keeps_the_name_and_type_and_files_it_with_the_carrier_again(
    alice_client, factories, acme, shop, refused
):
    renewed = factories.create_qualification(acme, name="Renewed")
    in_review = factories.create_qualification(acme, name="In review", status="pending_review")

    form = alice_client.get(url("signature_edit", refused.pk)).context["form"]
    response = alice_client.post(
        url("signature_edit", refused.pk),
        {
            "application": shop.pk,
            "name": "Renamed",
            "type": "promotion",
            "source": "shop",
            "qualification": renewed.pk,
            "description": "Shop owner's licence attached",
        },
    )

    assert form.fields["name"].disabled and form.fields["type"].disabled
    assert renewed in form.fields["qualification"].queryset and in_review not in form.fields["qualification"].queryset
    assert response.status_code == 302
    refused.refresh_from_db()
    assert (refused.status, refused.name, refused.type, refused.qualification, refused.source) == (
        S.FILING,
        "Acme",
        "notification",
        renewed,
        "shop",
    )
    entry = AuditLog.objects.get(action="resubmit", object_id=str(refused.pk))
    assert entry.before["status"] == S.FILING_FAILED and entry.after["status"] == S.FILING


def test_a_qualification_in_review_cannot_go_to_the_carrier(alice_client, factories, acme, shop, refused):
    in_review = factories.create_qualification(acme, name="In review", status="pending_review")

    response = alice_client.post(
        url("signature_edit", refused.pk),
        {
            "application": shop.pk,
            "source": "shop",
            "qualification": in_review.pk,
            "description": "",
        },
    )

    assert response.status_code == 200 and "qualification" in response.context["form"].errors
    refused.refresh_from_db()
    assert refused.status == S.FILING_FAILED


# --- Back-filling legacy signatures -------------------------------------------------------------


def test_a_legacy_signature_shows_its_banner_with_the_way_to_attach_a_qualification(alice_client, legacy):
    page = alice_client.get(url("signature_detail", legacy.pk)).content.decode()
    assert 'id="signature-banner"' in page and "created before real-name filing" in page
    assert url("signature_attach_qualification", legacy.pk) in page


def test_the_list_counts_the_legacy_signatures_that_need_a_qualification(alice_client, factories, shop, legacy):
    factories.create_signature(shop, name="Fine")
    page = alice_client.get(url("signature_list")).content.decode()
    assert 'id="legacy-banner"' in page and "1 signature was created before real-name filing" in page
    assert url("signature_attach_qualification", legacy.pk) in page


def test_no_banner_once_the_signature_is_filed(alice_client, factories, shop):
    signature = factories.create_signature(shop, name="Fine")
    assert 'id="legacy-banner"' not in alice_client.get(url("signature_list")).content.decode()
    assert 'id="signature-banner"' not in alice_client.get(url("signature_detail", signature.pk)).content.decode()


def test_attaching_an_approved_qualification_files_the_legacy_signature(alice_client, factories, acme, legacy):
    licence = factories.create_qualification(acme, name="Licence")
    rejected = factories.create_qualification(acme, name="Refused", status="rejected")

    form = alice_client.get(url("signature_attach_qualification", legacy.pk)).context["form"]
    response = alice_client.post(
        url("signature_attach_qualification", legacy.pk), {"qualification": licence.pk}, follow=True
    )

    assert rejected not in form.fields["qualification"].queryset
    legacy.refresh_from_db()
    assert (legacy.status, legacy.qualification) == (S.LEGACY_FILING, licence) and legacy.can_send
    assert "being filed with the carrier" in response.content.decode()
    assert AuditLog.objects.get(action="attach_qualification").after["qualification"] == licence.pk


def test_attaching_a_qualification_in_review_waits_for_its_review(alice_client, factories, acme, legacy):
    licence = factories.create_qualification(acme, name="Licence", status="pending_review")
    alice_client.post(url("signature_attach_qualification", legacy.pk), {"qualification": licence.pk})
    legacy.refresh_from_db()
    assert legacy.status == S.LEGACY_QUALIFYING


def test_a_signature_that_needs_no_qualification_is_sent_back(alice_client, factories, shop):
    signature = factories.create_signature(shop, name="Fine")
    response = alice_client.get(url("signature_attach_qualification", signature.pk), follow=True)
    assert "Only a legacy signature" in messages_of(response)[0]


# --- Activation after arrears ------------------------------------------------------------------


def test_a_signature_waiting_for_activation_is_asked_for_from_its_page(alice_client, factories, shop):
    signature = factories.create_signature(shop, name="Lapsed", status=S.TO_BE_ACTIVATED)

    page = alice_client.get(url("signature_detail", signature.pk)).content.decode()
    response = alice_client.post(url("signature_request_activation", signature.pk), follow=True)

    assert 'id="request-activation"' in page and "waits for activation" in page
    signature.refresh_from_db()
    assert signature.status == S.PENDING_ACTIVATION and signature.activation_requested_at is not None
    assert "staff review it" in messages_of(response)[0]
    assert AuditLog.objects.filter(action="request_activation", object_id=str(signature.pk)).exists()


def test_no_activation_while_the_balance_is_negative(alice_client, factories, acme, shop):
    money.correct(acme, Decimal("-3"), "Unpaid")
    signature = factories.create_signature(shop, name="Lapsed", status=S.TO_BE_ACTIVATED)

    page = alice_client.get(url("signature_detail", signature.pk)).content.decode()
    response = alice_client.post(url("signature_request_activation", signature.pk), follow=True)

    assert 'id="request-activation"' not in page and "Top up the balance first" in page
    signature.refresh_from_db()
    assert signature.status == S.TO_BE_ACTIVATED
    assert "Top up first" in messages_of(response)[0]


# --- Who may do it ------------------------------------------------------------------------------

ACTIONS = [("signature_attach_qualification", "post"), ("signature_request_activation", "post")]


@pytest.mark.parametrize(("name", "method"), ACTIONS)
def test_another_account_gets_404(client, charlie, factories, shop, name, method):
    signature = factories.create_signature(shop, name="Lapsed", status=S.TO_BE_ACTIVATED)
    client.force_login(charlie)
    assert getattr(client, method)(url(name, signature.pk)).status_code == 404
    signature.refresh_from_db()
    assert signature.status == S.TO_BE_ACTIVATED


@pytest.mark.parametrize(("name", "method"), ACTIONS)
def test_a_read_only_member_gets_403(client, bob, factories, shop, name, method):
    signature = factories.create_signature(shop, name="Lapsed", status=S.TO_BE_ACTIVATED)
    client.force_login(bob)
    assert getattr(client, method)(url(name, signature.pk)).status_code == 403


def test_a_read_only_member_sees_the_banner_without_the_buttons(client, bob, legacy):
    client.force_login(bob)
    page = client.get(url("signature_detail", legacy.pk)).content.decode()
    assert "created before real-name filing" in page and 'id="attach-qualification"' not in page


def test_requesting_an_activation_by_get_is_refused(alice_client, factories, shop):
    signature = factories.create_signature(shop, name="Lapsed", status=S.TO_BE_ACTIVATED)
    assert alice_client.get(url("signature_request_activation", signature.pk)).status_code == 405


@pytest.mark.parametrize(("status", "warned"), [(S.FILING, True), (S.TO_BE_ACTIVATED, True), (S.LEGACY_FILING, False)])
def test_a_template_page_says_when_its_signature_cannot_send(alice_client, factories, shop, status, warned):
    template = factories.create_template(shop, signature=factories.create_signature(shop, name="Acme", status=status))
    page = alice_client.get(url("template_detail", template.pk)).content.decode()
    assert ('id="signature-cannot-send"' in page) is warned
