"""Legacy signatures (created before real-name filing) keep sending while their owner's
qualification is back-filled: 处理完毕(待补充资质) → (资质审核中) → (实名报备中) → 处理完毕, or
(实名报备失败) and attached again (cloud-sms-spec.md 2.3)."""

import pytest
from django.db import IntegrityError

from smsconsole.models import AuditLog, TransitionError
from templates_app.models import Signature

pytestmark = pytest.mark.django_db

S = Signature.Status


@pytest.fixture
def legacy(factories, shop):
    signature = factories.create_signature(shop, name="Acme")
    signature.mark_legacy()
    return signature


def test_marking_a_signature_legacy_lets_go_of_its_qualification_and_it_keeps_sending(legacy):
    legacy.refresh_from_db()
    assert legacy.status == S.LEGACY_UNQUALIFIED and legacy.qualification is None
    assert legacy.can_send and legacy.needs_qualification and legacy.channel_number


def test_only_a_legacy_signature_may_lack_a_qualification(shop):
    with pytest.raises(IntegrityError):
        Signature.objects.create(
            application=shop, name="Bare", type="notification", status=S.APPROVED, channel_number="106900000077"
        )


def test_an_approved_qualification_files_it_at_once(factories, acme, legacy, rita):
    legacy.attach_qualification(factories.create_qualification(acme, name="Licence"))
    legacy.refresh_from_db()
    assert legacy.status == S.LEGACY_FILING and legacy.filed_at is not None and legacy.can_send
    legacy.carrier_approve(rita)
    legacy.refresh_from_db()
    assert legacy.status == S.APPROVED and not legacy.is_legacy


def test_a_qualification_in_review_is_filed_once_approved(factories, acme, legacy, rita):
    qualification = factories.create_qualification(acme, name="Licence", status="pending_review")
    legacy.attach_qualification(qualification)
    legacy.refresh_from_db()
    assert legacy.status == S.LEGACY_QUALIFYING and legacy.can_send and legacy.filed_at is None

    qualification.approve(rita)

    legacy.refresh_from_db()
    assert legacy.status == S.LEGACY_FILING and legacy.filed_at is not None
    entry = AuditLog.objects.get(action="qualification_approved", object_id=str(legacy.pk))
    assert entry.actor == rita and entry.after == {"status": S.LEGACY_FILING}


def test_a_rejected_qualification_sends_the_signature_back_to_needing_one(factories, acme, legacy, rita):
    qualification = factories.create_qualification(acme, name="Licence", status="pending_review")
    legacy.attach_qualification(qualification)

    qualification.reject(rita, "qual_document_unreadable")

    legacy.refresh_from_db()
    assert legacy.status == S.LEGACY_UNQUALIFIED and legacy.can_send
    assert legacy.qualification == qualification  # the page shows which one was rejected


def test_the_carriers_refusal_keeps_it_sending_and_it_can_be_attached_again(factories, acme, legacy, rita):
    legacy.attach_qualification(factories.create_qualification(acme, name="Licence"))
    legacy.carrier_reject(rita, "The handler's ID is expired")
    legacy.refresh_from_db()
    assert legacy.status == S.LEGACY_FILING_FAILED and legacy.can_send and legacy.needs_qualification

    legacy.attach_qualification(factories.create_qualification(acme, name="Renewed"))
    legacy.refresh_from_db()
    assert legacy.status == S.LEGACY_FILING and legacy.qualification.name == "Renewed"


def test_a_rejected_qualification_cannot_be_attached(factories, acme, legacy):
    with pytest.raises(TransitionError):
        legacy.attach_qualification(factories.create_qualification(acme, name="Bad", status="rejected"))
    legacy.refresh_from_db()
    assert legacy.status == S.LEGACY_UNQUALIFIED


def test_another_accounts_qualification_cannot_be_attached(factories, other_co, legacy):
    with pytest.raises(TransitionError):
        legacy.attach_qualification(factories.create_qualification(other_co, name="Theirs"))
    legacy.refresh_from_db()
    assert legacy.qualification is None


def test_only_an_approved_signature_can_be_marked_legacy(factories, shop):
    signature = factories.create_signature(shop, name="Waiting", status=S.FILING)
    with pytest.raises(TransitionError):
        signature.mark_legacy()
    signature.refresh_from_db()
    assert signature.status == S.FILING and signature.qualification is not None
