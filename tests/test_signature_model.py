import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from smsconsole.models import TransitionError
from templates_app import models as template_models
from templates_app.models import Qualification, Signature, validate_signature_name

pytestmark = pytest.mark.django_db

PENDING = Signature.Status.PENDING_REVIEW
APPROVED = Signature.Status.APPROVED
REJECTED = Signature.Status.REJECTED


@pytest.fixture
def pending(factories, shop):
    return factories.create_signature(shop, name="Acme", status=PENDING)


# --- Review -----------------------------------------------------------------------------------


def test_the_carrier_approval_allocates_a_106_channel_number_when_the_carrier_gave_none(pending, rita):
    pending.approve(rita)
    pending.carrier_approve(rita)
    pending.refresh_from_db()
    assert pending.status == APPROVED
    assert pending.reviewed_by == rita and pending.carrier_answered_by == rita
    assert pending.channel_number.startswith("106")
    assert pending.channel_number.isdigit()


def test_channel_numbers_are_unique_and_a_collision_draws_again(factories, shop, rita, monkeypatch):
    taken = factories.create_signature(shop, name="Taken", channel_number="106900000001")
    draws = iter([taken.channel_number, "106900000002"])
    monkeypatch.setattr(template_models, "_new_channel_number", lambda: next(draws))
    signature = factories.create_signature(shop, name="Fresh", status=Signature.Status.FILING)
    signature.carrier_approve(rita)
    signature.refresh_from_db()
    assert signature.status == APPROVED
    assert signature.channel_number == "106900000002"


def test_the_database_refuses_a_duplicate_channel_number(factories, shop):
    factories.create_signature(shop, name="One", channel_number="106900000001")
    with pytest.raises(IntegrityError):
        factories.create_signature(shop, name="Two", channel_number="106900000001")


def test_an_approved_signature_without_channel_number_is_refused_by_the_database(factories, shop):
    with pytest.raises(IntegrityError):
        factories.create_signature(shop, name="Bare", channel_number=None)


@pytest.mark.parametrize("qualification_status", [Qualification.Status.PENDING_REVIEW, Qualification.Status.REJECTED])
def test_it_refuses_to_approve_while_the_qualification_is_not_approved(
    factories, acme, shop, rita, qualification_status
):
    qualification = factories.create_qualification(acme, name="Unapproved", status=qualification_status)
    signature = factories.create_signature(shop, status=PENDING, qualification=qualification)
    with pytest.raises(TransitionError):
        signature.approve(rita)
    signature.refresh_from_db()
    assert signature.status == PENDING
    assert signature.channel_number is None


def test_rejecting_needs_a_signature_reason_and_other_needs_text(pending, rita):
    with pytest.raises(ValidationError):
        pending.reject(rita, "qual_company_mismatch")
    with pytest.raises(ValidationError):
        pending.reject(rita, "other")
    pending.reject(rita, "sig_neutral")
    pending.refresh_from_db()
    assert pending.status == REJECTED
    assert pending.reason_code == "sig_neutral"
    assert pending.channel_number is None


def test_rejecting_with_other_keeps_the_comment(pending, rita):
    pending.reject(rita, "other", "Show the app store page.")
    assert pending.reason_text == "Show the app store page."


@pytest.mark.parametrize("status", [APPROVED, REJECTED])
def test_only_a_pending_signature_can_be_reviewed(factories, shop, rita, status):
    signature = factories.create_signature(shop, status=status)
    with pytest.raises(TransitionError):
        signature.approve(rita)
    with pytest.raises(TransitionError):
        signature.reject(rita, "sig_neutral")


# --- Urge, resubmit, delete --------------------------------------------------------------------


def test_a_pending_signature_can_be_urged_once(pending, time_machine):
    time_machine.move_to("2025-03-01 09:30:00+08:00")
    assert pending.can_urge
    pending.urge()
    pending.refresh_from_db()
    assert pending.urged_at.isoformat() == "2025-03-01T01:30:00+00:00"
    assert not pending.can_urge
    with pytest.raises(TransitionError):
        pending.urge()


@pytest.mark.parametrize("status", [APPROVED, REJECTED])
def test_only_pending_signatures_can_be_urged(factories, shop, status):
    signature = factories.create_signature(shop, status=status)
    assert not signature.can_urge
    with pytest.raises(TransitionError):
        signature.urge()


def test_resubmitting_a_rejected_signature_clears_the_urge(factories, shop, rita):
    signature = factories.create_signature(shop, status=PENDING)
    signature.urge()
    signature.reject(rita, "sig_format")
    signature.resubmit()
    signature.refresh_from_db()
    assert signature.status == PENDING
    assert signature.urged_at is None
    assert signature.can_urge


@pytest.mark.parametrize("status", [PENDING, APPROVED])
def test_it_refuses_to_resubmit_a_signature_that_is_not_rejected(factories, shop, status):
    signature = factories.create_signature(shop, status=status)
    with pytest.raises(TransitionError):
        signature.resubmit()


@pytest.mark.parametrize(
    "status, deletable, editable",
    [
        (PENDING, False, False),
        (APPROVED, True, False),
        (REJECTED, True, True),
        (Signature.Status.FILING, False, False),
        (Signature.Status.FILING_FAILED, True, True),
        (Signature.Status.LEGACY_UNQUALIFIED, True, False),
        (Signature.Status.LEGACY_QUALIFYING, False, False),
        (Signature.Status.LEGACY_FILING, False, False),
        (Signature.Status.LEGACY_FILING_FAILED, True, False),
        (Signature.Status.TO_BE_ACTIVATED, True, False),
        (Signature.Status.PENDING_ACTIVATION, False, False),
    ],
)
def test_what_can_be_deleted_and_edited_follows_the_status(factories, shop, status, deletable, editable):
    signature = factories.create_signature(shop, status=status)
    assert signature.can_delete is deletable
    assert signature.can_edit is editable


def test_the_same_name_may_be_registered_once_per_type(factories, shop):
    factories.create_signature(shop, name="Acme", type="notification")
    factories.create_signature(shop, name="Acme", type="promotion")
    with pytest.raises(IntegrityError):
        factories.create_signature(shop, name="Acme", type="notification")


# --- Quota ----------------------------------------------------------------------------------------


def test_the_signature_quota_is_per_application(factories, acme, shop, settings):
    settings.SMS_MAX_SIGNATURES_PER_APPLICATION = 2
    factories.create_signature(shop, name="One")
    Signature.check_quota(shop)
    factories.create_signature(shop, name="Two")
    with pytest.raises(ValidationError):
        Signature.check_quota(shop)
    other_app = factories.create_application(acme, "Other")
    Signature.check_quota(other_app)


# --- Names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["华为", "Acme", "华为云2024", "A1", "云" * 32])
def test_valid_signature_names(name):
    validate_signature_name(name)


@pytest.mark.parametrize(
    "name, code",
    [
        ("华", "length"),
        ("", "length"),
        ("云" * 33, "length"),
        ("【华为】", "chars"),
        ("Acme Cloud", "chars"),
        ("Acme-Cloud", "chars"),
        ("华为！", "chars"),
        ("12345", "digits"),
    ],
)
def test_invalid_signature_names(name, code):
    with pytest.raises(ValidationError) as caught:
        validate_signature_name(name)
    assert caught.value.code == code


def test_the_name_length_limit_follows_the_setting(settings):
    settings.SMS_SIGNATURE_NAME_MAX_LENGTH = 16
    validate_signature_name("云" * 16)
    with pytest.raises(ValidationError):
        validate_signature_name("云" * 17)
