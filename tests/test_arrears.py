"""Arrears (cloud-sms-spec.md 4.4), with time frozen: a balance that stays negative past the grace
period stops sending (planning refuses, running campaigns pause, the send API answers E000112);
past the retention period the signatures wait for activation; a top-up ends the arrears. Nothing
is deleted."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from api.auth import authenticate_application
from api.errors import ApiError
from campaigns import arrears, money
from campaigns.models import Campaign
from campaigns.tasks import enforce_arrears, plan_campaign
from smsconsole.models import Account, AuditLog, TransitionError
from templates_app.models import Signature
from tests.sending_helpers import create_campaign, create_connection, phones, sending_redis  # noqa: F401
from tests.test_api_activation import signed_request

pytestmark = pytest.mark.django_db

S = Signature.Status
START = "2025-06-02 10:00:00+08:00"


@pytest.fixture(autouse=True)
def _periods(settings):
    settings.SMS_ARREARS_GRACE_HOURS = 24
    settings.SMS_ARREARS_RETENTION_DAYS = 15


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def overdrawn(acme, clock):
    """Acme's balance turned negative at START."""
    money.correct(acme, Decimal("-12.5"), "Chargeback of the May top-up")
    acme.refresh_from_db()
    return acme


@pytest.fixture
def running(factories, shop):
    template = factories.create_template(shop, content="Your order ${1} has shipped.")
    campaign = create_campaign(shop, template, create_connection(), phones(2))
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING, started_at=timezone.now())
    campaign.refresh_from_db()
    return campaign


def later(clock, **delta):
    clock.move_to(timezone.now() + timedelta(**delta), tick=False)


def reload(account):
    return Account.objects.get(pk=account.pk)


# --- The balance and its arrears ----------------------------------------------------------------


def test_the_balance_turning_negative_is_remembered_until_it_is_covered_again(acme, clock):
    money.top_up(acme, Decimal("2"))
    assert reload(acme).overdrawn_since is None

    money.correct(acme, Decimal("-5"), "Correction")
    since = reload(acme).overdrawn_since
    assert since == timezone.now()

    later(clock, hours=3)
    money.correct(acme, Decimal("-1"), "Another")
    money.top_up(acme, Decimal("2"))  # still -2
    assert reload(acme).overdrawn_since == since

    money.top_up(acme, Decimal("2"))  # exactly zero
    assert reload(acme).overdrawn_since is None and reload(acme).balance == 0


def test_the_account_is_frozen_only_once_the_grace_period_is_over(overdrawn, clock):
    assert not reload(overdrawn).is_frozen
    assert reload(overdrawn).frozen_at == timezone.now() + timedelta(hours=24)
    later(clock, hours=23, minutes=59)
    assert not reload(overdrawn).is_frozen and not Account.objects.frozen().exists()
    later(clock, minutes=1)
    assert reload(overdrawn).is_frozen and list(Account.objects.frozen()) == [overdrawn]


def test_a_grace_period_of_zero_stops_sending_at_once(settings, acme, clock):
    settings.SMS_ARREARS_GRACE_HOURS = 0
    money.correct(acme, Decimal("-1"), "Correction")
    assert reload(acme).is_frozen


# --- Sending stops ------------------------------------------------------------------------------


def test_planning_refuses_a_frozen_account_with_the_reason(overdrawn, running, clock):
    later(clock, hours=25)
    plan_campaign(running.pk)
    running.refresh_from_db()
    assert running.status == "failed"
    assert running.failure_reason.startswith("The account is in arrears")


def test_planning_still_sends_in_the_grace_period(overdrawn, running, clock):
    later(clock, hours=1)
    plan_campaign(running.pk)
    running.refresh_from_db()
    assert running.status == "running" and running.planned_at is not None


def test_a_draft_is_not_launched_while_frozen(alice_client, factories, shop, overdrawn, clock):
    template = factories.create_template(shop, content="Your order ${1} has shipped.")
    draft = create_campaign(shop, template, create_connection(), phones(2))
    later(clock, hours=24)

    response = alice_client.post(reverse("campaigns:campaign_confirm", args=[draft.pk]), follow=True)

    draft.refresh_from_db()
    assert draft.status == "draft"
    assert any("in arrears" in str(message) for message in response.context["messages"])


def test_the_send_api_answers_e000112_once_frozen(overdrawn, shop, clock):
    shop.launch()
    assert authenticate_application(signed_request(shop)) == shop  # in the grace period
    later(clock, hours=24)
    with pytest.raises(ApiError) as refused:
        authenticate_application(signed_request(shop))
    assert (refused.value.code, refused.value.status) == ("E000112", 403)


def test_the_periodic_task_pauses_the_running_campaigns_of_frozen_accounts_only(
    factories, other_co, overdrawn, running, clock
):
    other_shop = factories.create_application(other_co, "Other shop")
    theirs = create_campaign(
        other_shop,
        factories.create_template(other_shop, content="Hello"),
        running.connection,
        phones(1),
        status=Campaign.Status.RUNNING,
    )

    assert arrears.enforce() == {"frozen": 0, "paused": 0, "to_be_activated": 0}
    later(clock, hours=24)
    assert arrears.enforce() == {"frozen": 1, "paused": 1, "to_be_activated": 0}
    assert arrears.enforce()["paused"] == 0  # nothing left to pause

    running.refresh_from_db()
    theirs.refresh_from_db()
    assert (running.status, running.pause_reason) == ("paused", Campaign.PauseReason.ARREARS)
    assert theirs.status == "running"
    entry = AuditLog.objects.get(action="arrears_pause")
    assert (entry.account, entry.object_id, entry.actor) == (overdrawn, str(running.pk), None)


def test_the_campaign_page_says_why_it_paused_and_offers_no_resume_while_frozen(
    alice_client, overdrawn, running, clock
):
    later(clock, hours=24)
    arrears.enforce()

    page = alice_client.get(reverse("campaigns:campaign_detail", args=[running.pk])).content.decode()

    assert 'id="campaign-pause-reason"' in page and "the account is in arrears" in page
    assert 'id="campaign-resume"' not in page
    assert 'id="arrears-banner"' in page and "Sending stopped" in page


def test_resuming_is_refused_while_frozen_and_allowed_after_a_top_up(overdrawn, running, clock):
    later(clock, hours=24)
    arrears.enforce()
    running.refresh_from_db()
    with pytest.raises(TransitionError, match="in arrears"):
        running.resume()

    money.top_up(overdrawn, Decimal("20"))
    arrears.enforce()
    running.refresh_from_db()
    # The top-up ends the arrears, but the campaign waits for its operator.
    assert running.status == "paused"
    running.resume()
    running.refresh_from_db()
    assert (running.status, running.pause_reason) == ("running", "")


def test_an_operators_pause_has_its_own_reason_and_resume_clears_it(running):
    running.pause()
    assert Campaign.objects.get(pk=running.pk).pause_reason == Campaign.PauseReason.OPERATOR
    running.resume()
    assert Campaign.objects.get(pk=running.pk).pause_reason == ""


# --- Past the retention period ------------------------------------------------------------------


@pytest.fixture
def signatures(factories, shop):
    return {
        "approved": factories.create_signature(shop, name="Ready"),
        "legacy": factories.create_signature(shop, name="Old", status=S.LEGACY_FILING_FAILED),
        "filing": factories.create_signature(shop, name="Filing", status=S.FILING),
    }


def test_past_the_retention_period_the_sendable_signatures_wait_for_activation_and_are_mailed_once(
    factories, overdrawn, signatures, clock, mailoutbox, django_capture_on_commit_callbacks
):
    factories.create_contact(overdrawn, name="Ops", email="ops@acme.example")
    factories.create_contact(overdrawn, name="Quiet", email="quiet@acme.example", notify_signature=False)
    later(clock, days=16, seconds=-1)  # grace (1 day) + retention (15 days), less a second
    assert arrears.enforce()["to_be_activated"] == 0
    later(clock, seconds=1)

    with django_capture_on_commit_callbacks(execute=True):
        assert arrears.enforce()["to_be_activated"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert arrears.enforce()["to_be_activated"] == 0

    for signature in signatures.values():
        signature.refresh_from_db()
    assert (signatures["approved"].status, signatures["approved"].restore_status) == (S.TO_BE_ACTIVATED, S.APPROVED)
    assert (signatures["legacy"].status, signatures["legacy"].restore_status) == (
        S.TO_BE_ACTIVATED,
        S.LEGACY_FILING_FAILED,
    )
    assert signatures["filing"].status == S.FILING
    assert all(s.channel_number for s in (signatures["approved"], signatures["legacy"]))  # nothing released
    [mail] = mailoutbox
    assert mail.to == ["ops@acme.example"]
    assert mail.subject == "[smsconsole] Signatures of “Acme” need activation / 账号“Acme”的签名待激活"
    assert "【Ready】 (Notification)" in mail.body and "【Old】" in mail.body and "【Filing】" not in mail.body
    assert "以下签名已变为待激活" in mail.body
    assert AuditLog.objects.filter(action="arrears_to_be_activated").count() == 2


def test_a_top_up_before_the_retention_period_ends_keeps_the_signatures(overdrawn, signatures, clock):
    later(clock, days=10)
    money.top_up(overdrawn, Decimal("50"))
    later(clock, days=30)
    arrears.enforce()
    signatures["approved"].refresh_from_db()
    assert signatures["approved"].status == S.APPROVED


def test_after_a_top_up_the_activation_is_requested_and_approved_back_to_sending(overdrawn, signatures, clock, rita):
    later(clock, days=17)
    arrears.enforce()
    signature = Signature.objects.get(pk=signatures["legacy"].pk)
    with pytest.raises(TransitionError, match="Top up first"):
        signature.request_activation()

    money.top_up(overdrawn, Decimal("100"))
    signature = Signature.objects.get(pk=signature.pk)
    signature.request_activation()
    signature.approve_activation(rita)

    signature.refresh_from_db()
    assert (signature.status, signature.restore_status) == (S.LEGACY_FILING_FAILED, "") and signature.can_send


def test_the_arrears_banner_counts_down_in_the_grace_period(alice_client, overdrawn, clock):
    page = alice_client.get(reverse("dashboard")).content.decode()
    assert 'id="arrears-banner"' in page and "The account's balance is negative." in page
    assert "-12.50" in page and "2025-06-03 10:00" in page  # when sending stops, on the account's clock


def test_no_banner_without_arrears(alice_client, acme):
    assert 'id="arrears-banner"' not in alice_client.get(reverse("dashboard")).content.decode()


# --- The periodic task ---------------------------------------------------------------------------


def test_the_task_is_scheduled_and_guarded_against_overlap(settings, sending_redis):  # noqa: F811
    from campaigns.redis_client import key

    assert settings.CELERY_BEAT_SCHEDULE["enforce-arrears"]["task"] == "campaigns.tasks.enforce_arrears"
    assert enforce_arrears() == {"frozen": 0, "paused": 0, "to_be_activated": 0}
    sending_redis.set(key("lock", "enforce_arrears"), "someone", ex=60)
    assert enforce_arrears() == {"skipped": "already running"}
