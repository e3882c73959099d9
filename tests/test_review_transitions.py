"""Every review transition of qualifications, signatures and templates is a compare-and-set: each
allowed move is made in one UPDATE filtered on the status, each refused one changes nothing, and
a decision taken on a stale copy of the row is refused."""

import pytest

from smsconsole.models import TransitionError
from templates_app import reasons
from templates_app.models import Qualification, Signature, Template

Q, S, T = Qualification.Status, Signature.Status, Template.Status

# (kind, method) → {status it is allowed from: status it moves to}; every other status refuses it.
TRANSITIONS = {
    ("qualification", "resubmit"): {Q.REJECTED: Q.PENDING_REVIEW},
    ("qualification", "approve"): {Q.PENDING_REVIEW: Q.APPROVED},
    ("qualification", "reject"): {Q.PENDING_REVIEW: Q.REJECTED},
    # Content review, then the carrier's filing (a reviewer's rejection goes back to review, the
    # carrier's back to the carrier); legacy back-filling; activation after arrears.
    ("signature", "resubmit"): {S.REJECTED: S.PENDING_REVIEW, S.FILING_FAILED: S.FILING},
    ("signature", "approve"): {S.PENDING_REVIEW: S.FILING},
    ("signature", "reject"): {S.PENDING_REVIEW: S.REJECTED},
    ("signature", "carrier_approve"): {S.FILING: S.APPROVED, S.LEGACY_FILING: S.APPROVED},
    ("signature", "carrier_reject"): {S.FILING: S.FILING_FAILED, S.LEGACY_FILING: S.LEGACY_FILING_FAILED},
    ("signature", "mark_legacy"): {S.APPROVED: S.LEGACY_UNQUALIFIED},
    ("signature", "attach_qualification"): {
        S.LEGACY_UNQUALIFIED: S.LEGACY_FILING,
        S.LEGACY_FILING_FAILED: S.LEGACY_FILING,
    },
    ("signature", "request_activation"): {S.TO_BE_ACTIVATED: S.PENDING_ACTIVATION},
    ("signature", "approve_activation"): {S.PENDING_ACTIVATION: S.APPROVED},
    ("signature", "reject_activation"): {S.PENDING_ACTIVATION: S.TO_BE_ACTIVATED},
    ("template", "submit"): {T.DRAFT: T.PENDING_REVIEW, T.REJECTED: T.PENDING_REVIEW},
    ("template", "withdraw"): {T.PENDING_REVIEW: T.DRAFT},
    ("template", "approve"): {T.PENDING_REVIEW: T.ACTIVE},
    ("template", "reject"): {T.PENDING_REVIEW: T.REJECTED},
    ("template", "deactivate"): {T.ACTIVE: T.INACTIVE},
}
MODELS = {"qualification": Qualification, "signature": Signature, "template": Template}
# Fields a refused transition must leave as they were.
WATCHED = ["status", "reviewed_by_id", "reviewed_at", "reason_code", "reason_text", "submitted_at"]
SIGNATURE_WATCHED = [
    "qualification_id",
    "channel_number",
    "filed_at",
    "carrier_reason",
    "carrier_answered_at",
    "restore_status",
    "activation_requested_at",
]

CASES = [
    pytest.param(kind, method, status, allowed.get(status), id=f"{kind}.{method} from {status}")
    for (kind, method), allowed in TRANSITIONS.items()
    for status in MODELS[kind].Status.values
]


def create(factories, shop, kind, status):
    if kind == "qualification":
        return factories.create_qualification(shop.account, status=status)
    if kind == "signature":
        # The factory gives a channel number to the states that keep one (a constraint says so).
        return factories.create_signature(shop, status=status)
    return factories.create_template(shop, status=status)


def call(obj, method, reviewer, factories):
    if method == "reject":
        return obj.reject(reviewer, reasons.OTHER, "Needs a clearer name")
    if method == "reject_activation":
        return obj.reject_activation(reviewer, reasons.OTHER, "Settle the invoice of May first")
    if method == "carrier_reject":
        return obj.carrier_reject(reviewer, "The licence does not match the signature")
    if method == "attach_qualification":
        return obj.attach_qualification(factories.create_qualification(obj.application.account, name="Back-filled"))
    if method in ("approve", "deactivate", "carrier_approve", "approve_activation"):
        return getattr(obj, method)(reviewer)
    return getattr(obj, method)()


def row(obj):
    watched = WATCHED + (SIGNATURE_WATCHED if isinstance(obj, Signature) else [])
    return dict(type(obj).objects.filter(pk=obj.pk).values(*watched).get())


@pytest.mark.parametrize(("kind", "method", "status", "moves_to"), CASES)
def test_each_transition_moves_only_from_its_allowed_states(factories, shop, rita, kind, method, status, moves_to):
    obj = create(factories, shop, kind, status)
    before = row(obj)

    if moves_to is None:
        with pytest.raises(TransitionError):
            call(obj, method, rita, factories)
        assert row(obj) == before
    else:
        call(obj, method, rita, factories)
        assert row(obj)["status"] == obj.status == moves_to


def test_a_reviewer_cannot_approve_a_template_its_operator_withdrew_meanwhile(factories, shop, rita):
    seen_by_reviewer = factories.create_template(shop, status=T.PENDING_REVIEW)
    Template.objects.get(pk=seen_by_reviewer.pk).withdraw()
    before = row(seen_by_reviewer)

    with pytest.raises(TransitionError):
        seen_by_reviewer.approve(rita)

    assert row(seen_by_reviewer) == before
    assert before["status"] == T.DRAFT and before["reviewed_by_id"] is None
    assert seen_by_reviewer.status == T.DRAFT  # the stale copy now knows why


def test_a_second_reviewer_cannot_approve_a_signature_the_first_rejected(factories, shop, rita):
    seen_by_both = factories.create_signature(shop, status=S.PENDING_REVIEW, channel_number=None)
    Signature.objects.get(pk=seen_by_both.pk).reject(rita, reasons.OTHER, "Not the company's name")

    with pytest.raises(TransitionError):
        seen_by_both.approve(factories.create_reviewer("ralph"))

    stored = Signature.objects.get(pk=seen_by_both.pk)
    assert (stored.status, stored.channel_number, stored.reason_text) == (S.REJECTED, None, "Not the company's name")
    assert stored.reviewed_by == rita


def test_a_qualification_approved_meanwhile_is_not_rejected_by_a_stale_decision(factories, acme, rita):
    stale = factories.create_qualification(acme, status=Q.PENDING_REVIEW)
    Qualification.objects.get(pk=stale.pk).approve(rita)
    before = row(stale)

    with pytest.raises(TransitionError):
        stale.reject(rita, reasons.OTHER, "Blurred scan")

    assert row(stale) == before
    assert before["status"] == Q.APPROVED and before["reason_code"] == ""


@pytest.mark.parametrize("kind", ["signature", "template"])
def test_an_item_is_urged_once_even_from_two_stale_copies(factories, shop, kind):
    first = create(factories, shop, kind, "pending_review")
    second = type(first).objects.get(pk=first.pk)
    first.urge()
    urged_at = type(first).objects.get(pk=first.pk).urged_at

    with pytest.raises(TransitionError):
        second.urge()

    assert type(first).objects.get(pk=first.pk).urged_at == urged_at
