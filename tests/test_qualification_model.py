import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from smsconsole.models import TransitionError
from templates_app.models import Qualification
from tests.qualification_helpers import pdf

pytestmark = pytest.mark.django_db

PENDING = Qualification.Status.PENDING_REVIEW
APPROVED = Qualification.Status.APPROVED
REJECTED = Qualification.Status.REJECTED


@pytest.fixture
def pending(factories, acme):
    return factories.create_qualification(acme, status=PENDING)


def test_approving_a_pending_qualification_records_the_reviewer(pending, rita):
    pending.approve(rita)
    pending.refresh_from_db()
    assert pending.status == APPROVED
    assert pending.reviewed_by == rita
    assert pending.reviewed_at is not None
    assert pending.reason_code == ""


def test_rejecting_with_a_catalogue_reason_stores_the_reason_and_comment(pending, rita):
    pending.reject(rita, "qual_company_mismatch", "The licence is of another company.")
    pending.refresh_from_db()
    assert pending.status == REJECTED
    assert pending.reason_code == "qual_company_mismatch"
    assert "another company" in pending.reason_text
    assert "company differs" in str(pending.reason_label)


def test_it_refuses_a_reason_outside_the_qualification_catalogue(pending, rita):
    with pytest.raises(ValidationError):
        pending.reject(rita, "sig_neutral")
    with pytest.raises(ValidationError):
        pending.reject(rita, "")
    pending.refresh_from_db()
    assert pending.status == PENDING


def test_the_reason_other_needs_a_comment(pending, rita):
    with pytest.raises(ValidationError):
        pending.reject(rita, "other", "   ")
    pending.reject(rita, "other", "The stamp is missing.")
    assert pending.status == REJECTED


@pytest.mark.parametrize("status", [APPROVED, REJECTED])
def test_only_a_pending_qualification_can_be_reviewed(factories, acme, rita, status):
    qualification = factories.create_qualification(acme, status=status)
    with pytest.raises(TransitionError):
        qualification.approve(rita)
    with pytest.raises(TransitionError):
        qualification.reject(rita, "qual_id_mismatch")
    qualification.refresh_from_db()
    assert qualification.status == status


def test_resubmitting_a_rejected_qualification_puts_it_back_in_review(factories, acme, rita, time_machine):
    qualification = factories.create_qualification(acme, status=REJECTED)
    time_machine.move_to("2025-03-01 10:00:00+08:00")
    qualification.resubmit()
    qualification.refresh_from_db()
    assert qualification.status == PENDING
    assert qualification.submitted_at.isoformat() == "2025-03-01T02:00:00+00:00"


@pytest.mark.parametrize("status", [PENDING, APPROVED])
def test_it_refuses_to_resubmit_a_qualification_that_is_not_rejected(factories, acme, status):
    qualification = factories.create_qualification(acme, status=status)
    with pytest.raises(TransitionError):
        qualification.resubmit()


@pytest.mark.parametrize("status, deletable", [(PENDING, False), (APPROVED, False), (REJECTED, True)])
def test_only_rejected_qualifications_can_be_deleted_or_edited(factories, acme, status, deletable):
    qualification = factories.create_qualification(acme, status=status)
    assert qualification.can_delete is deletable
    assert qualification.can_edit is deletable


def test_a_third_party_qualification_needs_the_authorisation_letter(factories, acme):
    qualification = Qualification(account=acme, name="Client", company_name="Client Ltd", purpose="third_party")
    with pytest.raises(ValidationError) as caught:
        qualification.clean()
    assert "authorisation_letter" in caught.value.message_dict
    qualification.authorisation_letter = pdf()
    qualification.clean()


def test_names_are_unique_per_account_only(factories, acme, other_co):
    factories.create_qualification(acme, name="Main")
    factories.create_qualification(other_co, name="Main")
    with pytest.raises(IntegrityError):
        factories.create_qualification(acme, name="Main")
