"""Service activation (开通) as compare-and-set transitions: apply, approve, reject, apply again."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.models import SERVICE_TERMS_VERSION, ServiceApplication, activate, is_activated
from accounts.review_hours import REVIEW_ZONE
from smsconsole.models import TransitionError


def apply(account, user):
    return ServiceApplication.apply(account, user, "Order notifications to our customers, about 20,000 a month.")


def test_a_new_account_is_not_activated(newcomer):
    assert not is_activated(newcomer)


def test_applying_records_the_terms_the_nina_and_the_time(newcomer, nina):
    application = apply(newcomer, nina)
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.PENDING_REVIEW
    assert application.terms_version == SERVICE_TERMS_VERSION and application.applied_by == nina
    assert application.submitted_at is not None and not is_activated(newcomer)


def test_it_refuses_to_apply_while_an_application_is_pending(newcomer, nina):
    apply(newcomer, nina)
    with pytest.raises(TransitionError):
        apply(newcomer, nina)
    assert ServiceApplication.objects.filter(account=newcomer).count() == 1


def test_approval_activates_the_account(newcomer, nina, rita):
    application = apply(newcomer, nina)
    application.approve(rita)
    newcomer.refresh_from_db()
    assert is_activated(newcomer)
    application.refresh_from_db()
    assert application.reviewed_by == rita and application.reviewed_at is not None


def test_a_rejection_needs_a_reason_from_the_catalogue(newcomer, nina, rita):
    application = apply(newcomer, nina)
    with pytest.raises(ValidationError):
        application.reject(rita, "not_a_reason")
    with pytest.raises(ValidationError):
        application.reject(rita, "other", "  ")
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.PENDING_REVIEW


def test_a_rejected_account_may_apply_again(newcomer, nina, rita):
    application = apply(newcomer, nina)
    application.reject(rita, "svc_use_unclear", "Say what you will send.")
    again = ServiceApplication.apply(newcomer, nina, "Delivery notices for our web shop.")
    again.refresh_from_db()
    assert again.pk == application.pk and again.status == ServiceApplication.Status.PENDING_REVIEW
    assert again.intended_use == "Delivery notices for our web shop."


@pytest.mark.parametrize(
    "decide",
    [
        lambda application, reviewer: application.approve(reviewer),
        lambda application, reviewer: application.reject(reviewer, "svc_duplicate"),
    ],
)
def test_an_activated_account_cannot_be_decided_again_or_apply(newcomer, nina, rita, decide):
    application = apply(newcomer, nina)
    application.approve(rita)
    with pytest.raises(TransitionError):
        decide(application, rita)
    with pytest.raises(TransitionError):
        apply(newcomer, nina)


def test_a_decision_on_a_stale_copy_changes_nothing(newcomer, nina, rita, factories):
    application = apply(newcomer, nina)
    stale = ServiceApplication.objects.get(pk=application.pk)
    application.reject(rita, "svc_company_unverified")
    with pytest.raises(TransitionError):
        stale.approve(factories.create_reviewer("ruth"))
    assert stale.status == ServiceApplication.Status.REJECTED  # reloaded by the refused compare-and-set
    assert not is_activated(newcomer)


def test_a_rejected_application_cannot_be_rejected_again(newcomer, nina, rita):
    application = apply(newcomer, nina)
    application.reject(rita, "svc_duplicate")
    with pytest.raises(TransitionError):
        application.reject(rita, "svc_duplicate")


def test_a_pending_application_says_when_its_answer_is_due(newcomer, nina, settings):
    settings.SMS_REVIEW_HOLIDAYS = frozenset()
    # Friday 2025-06-06 19:00 GMT+8: after review hours, so Monday 18:00.
    with time_machine.travel(datetime(2025, 6, 6, 11, 0, tzinfo=UTC), tick=False):
        application = apply(newcomer, nina)
    assert application.answer_due == datetime(2025, 6, 9, 18, 0, tzinfo=REVIEW_ZONE)


def test_the_holidays_setting_moves_the_answer(newcomer, nina, settings):
    from datetime import date

    settings.SMS_REVIEW_HOLIDAYS = frozenset({date(2025, 6, 9)})
    with time_machine.travel(datetime(2025, 6, 6, 11, 0, tzinfo=UTC), tick=False):
        application = apply(newcomer, nina)
    assert application.answer_due == datetime(2025, 6, 10, 18, 0, tzinfo=REVIEW_ZONE)


def test_a_decided_application_has_no_due_time(newcomer, nina, rita):
    application = apply(newcomer, nina)
    application.approve(rita)
    assert application.answer_due is None


def test_activate_applies_and_approves_once(newcomer, nina, rita):
    first = activate(newcomer, nina, rita)
    second = activate(newcomer, nina, rita)
    assert first.pk == second.pk and second.status == ServiceApplication.Status.APPROVED
    assert ServiceApplication.objects.filter(account=newcomer).count() == 1


def test_the_data_migration_activates_accounts_that_existed_without_an_email(newcomer, mailoutbox):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("accounts.migrations.0002_activate_existing_accounts")
    migration.activate_existing_accounts(apps, None)
    application = ServiceApplication.objects.get(account=newcomer)
    assert application.status == ServiceApplication.Status.APPROVED and application.terms_version == ""
    assert application.result_notified_at is not None and mailoutbox == []
    # Run again (or for an account that has one already): nothing more is created.
    migration.activate_existing_accounts(apps, None)
    assert ServiceApplication.objects.filter(account=newcomer).count() == 1
