from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from smsconsole.models import TransitionError
from templates_app.models import Signature, Template

DRAFT, PENDING, ACTIVE, INACTIVE, REJECTED = (
    Template.Status.DRAFT,
    Template.Status.PENDING_REVIEW,
    Template.Status.ACTIVE,
    Template.Status.INACTIVE,
    Template.Status.REJECTED,
)


@pytest.fixture
def signature(factories, shop):
    return factories.create_signature(shop, name="Acme", type="notification")


@pytest.fixture
def make(factories, shop, signature):
    def make(status=DRAFT, **fields):
        if not fields.get("universal"):
            fields.setdefault("signature", signature)
        return factories.create_template(shop, status=status, **fields)

    return make


def reload(template):
    return Template.objects.get(pk=template.pk)


def test_submitting_a_draft_makes_it_pending_with_the_time_of_submission(make):
    template = make(DRAFT)
    with time_machine.travel("2025-03-03 10:00 +0800", tick=False):
        template.submit()
    template = reload(template)
    assert template.status == PENDING
    assert template.submitted_at == datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


def test_a_rejected_template_can_be_submitted_again(make):
    template = make(REJECTED, reason_code="tpl_symbols")
    template.submit()
    assert reload(template).status == PENDING


@pytest.mark.parametrize("status", [PENDING, ACTIVE, INACTIVE])
def test_it_refuses_to_submit_a_template_that_is_not_a_draft_or_rejected(make, status):
    template = make(status)
    with pytest.raises(TransitionError):
        template.submit()
    assert reload(template).status == status


def test_withdrawing_a_pending_template_makes_it_a_draft_and_forgets_the_urge(make):
    template = make(PENDING)
    template.urge()
    template.withdraw()
    template = reload(template)
    assert template.status == DRAFT
    assert template.urged_at is None


@pytest.mark.parametrize("status", [DRAFT, ACTIVE, INACTIVE, REJECTED])
def test_it_refuses_to_withdraw_a_template_that_is_not_pending(make, status):
    with pytest.raises(TransitionError):
        make(status).withdraw()


def test_a_pending_template_can_be_urged_once_only(make):
    template = make(PENDING)
    assert template.can_urge
    template.urge()
    assert reload(template).urged_at is not None
    assert not template.can_urge
    with pytest.raises(TransitionError):
        template.urge()


@pytest.mark.parametrize("status", [DRAFT, ACTIVE, INACTIVE, REJECTED])
def test_it_refuses_to_urge_a_template_that_is_not_pending(make, status):
    template = make(status)
    assert not template.can_urge
    with pytest.raises(TransitionError):
        template.urge()


def test_resubmitting_after_withdrawal_allows_a_new_urge(make):
    template = make(PENDING)
    template.urge()
    template.withdraw()
    template.submit()
    assert reload(template).can_urge


def test_approving_needs_an_approved_signature(factories, shop, rita, make):
    pending_signature = factories.create_signature(shop, name="Pending", status=Signature.Status.PENDING_REVIEW)
    template = make(PENDING, signature=pending_signature)
    with pytest.raises(TransitionError):
        template.approve(rita)
    assert reload(template).status == PENDING


def test_approving_with_an_approved_signature_activates_the_template(make, rita):
    template = make(PENDING)
    template.approve(rita)
    template = reload(template)
    assert template.status == ACTIVE
    assert template.reviewed_by == rita
    assert template.reviewed_at is not None


def test_a_universal_template_is_approved_without_a_signature(make, rita):
    template = make(PENDING, universal=True)
    template.approve(rita)
    assert reload(template).status == ACTIVE


@pytest.mark.parametrize("status", [DRAFT, ACTIVE, INACTIVE, REJECTED])
def test_it_refuses_to_approve_a_template_that_is_not_pending(make, rita, status):
    with pytest.raises(TransitionError):
        make(status).approve(rita)


def test_rejecting_needs_a_reason_from_the_catalogue(make, rita):
    template = make(PENDING)
    with pytest.raises(ValidationError):
        template.reject(rita, "made_up_reason")
    with pytest.raises(ValidationError):
        template.reject(rita, "sig_neutral")  # a signature reason, not a template one
    assert reload(template).status == PENDING


def test_rejecting_with_other_needs_a_description(make, rita):
    template = make(PENDING)
    with pytest.raises(ValidationError):
        template.reject(rita, "other", "   ")
    template.reject(rita, "other", "The link goes to a gambling site.")
    template = reload(template)
    assert template.status == REJECTED
    assert template.reason_text == "The link goes to a gambling site."


def test_rejecting_with_a_catalogue_reason_records_it(make, rita):
    template = make(PENDING)
    template.reject(rita, "tpl_no_opt_out")
    template = reload(template)
    assert template.status == REJECTED
    assert str(template.reason_label) == "Content: a promotion without an opt-out"


def test_deactivating_moves_an_active_template_to_inactive_for_good(make, rita):
    template = make(ACTIVE)
    template.deactivate(rita, "Carrier rule change")
    assert reload(template).status == INACTIVE
    with pytest.raises(TransitionError):
        template.deactivate(rita)
    with pytest.raises(TransitionError):
        template.submit()


@pytest.mark.parametrize("status", [DRAFT, PENDING, REJECTED])
def test_it_refuses_to_deactivate_a_template_that_is_not_active(make, rita, status):
    with pytest.raises(TransitionError):
        make(status).deactivate(rita)


@pytest.mark.parametrize(
    "status, can_edit, can_delete, can_submit, can_withdraw",
    [
        (DRAFT, True, True, True, False),
        (PENDING, False, False, False, True),
        (ACTIVE, False, True, False, False),
        (INACTIVE, False, True, False, False),
        (REJECTED, True, True, True, False),
    ],
)
def test_the_operations_offered_follow_the_reference_table(
    make, status, can_edit, can_delete, can_submit, can_withdraw
):
    template = make(status)
    assert template.can_edit is can_edit
    assert template.can_delete is can_delete
    assert template.can_submit is can_submit
    assert template.can_withdraw is can_withdraw


def test_the_quota_refuses_a_template_beyond_the_application_limit(settings, factories, shop, make):
    settings.SMS_MAX_TEMPLATES_PER_APPLICATION = 2
    make()
    Template.check_quota(shop)
    make()
    with pytest.raises(ValidationError, match="at most 2 templates"):
        Template.check_quota(shop)


def test_the_quota_counts_each_application_separately(settings, factories, acme, shop, make):
    settings.SMS_MAX_TEMPLATES_PER_APPLICATION = 1
    make()
    other_app = factories.create_application(acme, "Other")
    Template.check_quota(other_app)


def test_the_signed_content_puts_the_signature_in_brackets_first(make):
    template = make(content="Your order ${1} has shipped.")
    assert template.signed_content == "【Acme】Your order ${1} has shipped."
    assert make(universal=True).signed_content == "Your order ${1} has shipped."
