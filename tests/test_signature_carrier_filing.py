"""After content review a signature is filed with the carrier: the carrier's approval issues its
channel number and lets it send, its refusal keeps the carrier's reason until the operator corrects
the materials and files it again (cloud-sms-spec.md 2.3-2.4)."""

import pytest
from django.core.exceptions import ValidationError

from smsconsole.models import TransitionError
from templates_app.models import Signature

pytestmark = pytest.mark.django_db

S = Signature.Status


@pytest.fixture
def filing(factories, shop, rita):
    signature = factories.create_signature(shop, name="Acme", status=S.PENDING_REVIEW)
    signature.approve(rita)
    return signature


def test_content_approval_files_the_signature_and_it_cannot_send_yet(filing):
    filing.refresh_from_db()
    assert filing.status == S.FILING and filing.filed_at is not None
    assert not filing.can_send and filing.channel_number is None


def test_the_carrier_may_assign_the_channel_number(filing, rita):
    filing.carrier_approve(rita, " 1069012345 ")
    filing.refresh_from_db()
    assert (filing.status, filing.channel_number, filing.carrier_answered_by) == (S.APPROVED, "1069012345", rita)
    assert filing.can_send


@pytest.mark.parametrize("number", ["10690-1234", "1069 0123", "1" * 22, "一〇六九"])
def test_a_channel_number_that_is_not_digits_is_refused(filing, rita, number):
    with pytest.raises(TransitionError):
        filing.carrier_approve(rita, number)
    filing.refresh_from_db()
    assert (filing.status, filing.channel_number) == (S.FILING, None)


def test_a_channel_number_of_another_signature_is_refused(factories, shop, filing, rita):
    factories.create_signature(shop, name="Other", channel_number="1069000111")
    with pytest.raises(TransitionError, match="1069000111"):
        filing.carrier_approve(rita, "1069000111")
    filing.refresh_from_db()
    assert filing.status == S.FILING


def test_a_refusal_needs_the_carriers_reason(filing, rita):
    with pytest.raises(ValidationError):
        filing.carrier_reject(rita, "   ")
    filing.carrier_reject(rita, "营业执照与签名主体不一致")
    filing.refresh_from_db()
    assert (filing.status, filing.carrier_reason, filing.carrier_answered_by) == (
        S.FILING_FAILED,
        "营业执照与签名主体不一致",
        rita,
    )
    assert not filing.can_send and filing.carrier_refused and filing.can_edit


def test_a_refused_signature_goes_back_to_the_carrier_once_corrected(factories, acme, filing, rita):
    filing.carrier_reject(rita, "Licence expired")
    filing.qualification = factories.create_qualification(acme, name="Renewed licence")
    filing.save(update_fields=["qualification"])
    filing.resubmit()
    filing.refresh_from_db()
    # Straight back to the carrier: the content review still stands.
    assert filing.status == S.FILING and filing.reviewed_by == rita


def test_the_carrier_files_approved_qualifications_only(factories, acme, filing, rita):
    filing.carrier_reject(rita, "Licence expired")
    filing.qualification = factories.create_qualification(acme, name="In review", status="pending_review")
    filing.save(update_fields=["qualification"])
    with pytest.raises(TransitionError):
        filing.resubmit()
    filing.refresh_from_db()
    assert filing.status == S.FILING_FAILED


def test_an_answer_recorded_on_a_stale_copy_changes_nothing(filing, rita):
    Signature.objects.get(pk=filing.pk).carrier_reject(rita, "Neutral name")
    with pytest.raises(TransitionError):
        filing.carrier_approve(rita)
    stored = Signature.objects.get(pk=filing.pk)
    assert (stored.status, stored.channel_number, stored.carrier_reason) == (S.FILING_FAILED, None, "Neutral name")


def test_a_template_may_be_approved_while_its_signature_is_filed(factories, shop, filing, rita):
    template = factories.create_template(shop, signature=filing, status="pending_review")
    template.approve(rita)
    assert template.status == "active"


@pytest.mark.parametrize("status", [S.PENDING_REVIEW, S.REJECTED])
def test_a_template_waits_for_its_signatures_content_review(factories, shop, rita, status):
    signature = factories.create_signature(shop, status=status)
    template = factories.create_template(shop, signature=signature, status="pending_review")
    with pytest.raises(TransitionError):
        template.approve(rita)
