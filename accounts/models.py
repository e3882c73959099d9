"""Service activation (开通) and invitations to an account's team.

A new account may look around and prepare (qualifications, contact lists, opt-outs, notification
contacts, its team and access keys) but creates no application, and so no signature, template,
recipient file or campaign, and sends nothing until staff approved its service application.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import review_hours
from smsconsole.models import Account, Membership, TransitionError
from templates_app import reasons
from templates_app.models import ReviewedModel

# The version of the service terms (accounts/templates/accounts/terms.html) an applicant accepts;
# change it with the text, so each application records which text was accepted.
SERVICE_TERMS_VERSION = "2025-1"


class ServiceApplication(ReviewedModel):
    """An account's application to use the SMS service, one per account, reviewed by staff."""

    class Status(models.TextChoices):
        PENDING_REVIEW = "pending_review", _("Pending review")  # 审核中: applied with the terms accepted; staff decide
        APPROVED = "approved", _("Activated")  # 已开通: may create applications and send
        REJECTED = "rejected", _("Not approved")  # 审核不通过: see the reason; correct and apply again

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, related_name="service_application", verbose_name=_("account")
    )
    intended_use = models.TextField(_("what the account will send"), max_length=1000, blank=True)
    # Empty only for accounts activated when activation was introduced (they were in use already).
    terms_version = models.CharField(_("service terms accepted"), max_length=16, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("applied by"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.PENDING_REVIEW)

    class Meta:
        verbose_name = _("service application")
        verbose_name_plural = _("service applications")
        ordering = ["submitted_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="pending_review") | (Q(submitted_at__isnull=False) & ~Q(terms_version="")),
                name="pending_service_application_accepted_terms",
            ),
        ]

    def __str__(self):
        return str(self.account)

    @property
    def owner_account(self):
        return self.account

    @property
    def answer_due(self):
        """When staff answer a pending application, by the review-hours rule; None otherwise."""
        if self.status != self.Status.PENDING_REVIEW or self.submitted_at is None:
            return None
        return review_hours.answer_due(self.submitted_at, settings.SMS_REVIEW_HOLIDAYS)

    @classmethod
    def apply(cls, account, user, intended_use):
        """Applies for the service, accepting the current terms; a rejected application is applied
        for again. Raises TransitionError while one is pending or once the account is activated."""
        fields = {
            "intended_use": intended_use,
            "terms_version": SERVICE_TERMS_VERSION,
            "applied_by": user,
            "submitted_at": timezone.now(),
        }
        application = cls.objects.filter(account=account).first()
        if application is None:
            try:
                with transaction.atomic():
                    return cls.objects.create(account=account, status=cls.Status.PENDING_REVIEW, **fields)
            except IntegrityError:
                # Another request of the account applied in between.
                application = cls.objects.get(account=account)
        application._transition({cls.Status.REJECTED}, cls.Status.PENDING_REVIEW, **fields)
        return application

    def approve(self, reviewer):
        self._transition({self.Status.PENDING_REVIEW}, self.Status.APPROVED, **self._review(reviewer))

    def reject(self, reviewer, reason_code, reason_text=""):
        self._check_reason(reasons.SERVICE, reason_code, reason_text)
        self._transition(
            {self.Status.PENDING_REVIEW}, self.Status.REJECTED, **self._review(reviewer, reason_code, reason_text)
        )


def service_application_of(account):
    """The account's service application, or None before it applied (reads a select_related one)."""
    return getattr(account, "service_application", None)


def is_activated(account):
    application = service_application_of(account)
    return application is not None and application.status == ServiceApplication.Status.APPROVED


def activate(account, applicant=None, reviewer=None, intended_use="Set up by staff."):
    """Applies and approves at once, through the transitions, for accounts staff set up themselves
    (seed_demo, benchmarks, tests); does nothing to an activated account."""
    application = ServiceApplication.objects.filter(account=account).first()
    if application is None or application.status == ServiceApplication.Status.REJECTED:
        application = ServiceApplication.apply(account, applicant, intended_use)
    if application.status == ServiceApplication.Status.PENDING_REVIEW:
        application.approve(reviewer)
    return application


# --- Invitations -----------------------------------------------------------------------------

INVITATION_SALT = "accounts.invitation"


class Invitation(models.Model):
    """An operator's invitation of someone, by email, to join the account with a role.

    The emailed link carries the invitation's id signed with the time it was sent: it expires
    SMS_INVITATION_DAYS later and works once (accepting and withdrawing are compare-and-set).
    """

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("account")
    )
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=16, choices=Membership.Role, default=Membership.Role.READ_ONLY)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("last sent"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("accepted by"),
    )
    revoked_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The team page's "already invited" check, and its race: one open invitation per address.
            models.UniqueConstraint(
                "account",
                Lower("email"),
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(revoked_at__isnull=True),
                name="invitation_accepted_or_withdrawn",
            ),
        ]

    def __str__(self):
        return self.email

    @property
    def is_open(self):
        return self.accepted_at is None and self.revoked_at is None

    @property
    def expires_at(self):
        return self.sent_at + timedelta(days=settings.SMS_INVITATION_DAYS)

    @property
    def is_expired(self):
        return timezone.now() >= self.expires_at

    def token(self):
        return signing.dumps(self.pk, salt=INVITATION_SALT)

    @classmethod
    def from_token(cls, token):
        """The invitation a link names; raises signing.SignatureExpired for an expired link and
        signing.BadSignature for a forged or damaged one."""
        pk = signing.loads(token, salt=INVITATION_SALT, max_age=timedelta(days=settings.SMS_INVITATION_DAYS))
        invitation = cls.objects.select_related("account").filter(pk=pk).first() if isinstance(pk, int) else None
        if invitation is None:
            raise signing.BadSignature("no such invitation")
        return invitation

    def _claim(self, error, **fields):
        open_ = Q(accepted_at__isnull=True, revoked_at__isnull=True)
        if not Invitation.objects.filter(open_, pk=self.pk).update(**fields):
            raise TransitionError(error)
        for name, value in fields.items():
            setattr(self, name, value)

    def accept(self, user):
        self._claim(_("This invitation was used or withdrawn already."), accepted_at=timezone.now(), accepted_by=user)

    def revoke(self):
        self._claim(_("This invitation was used or withdrawn already."), revoked_at=timezone.now())

    def mark_sent(self):
        """Starts the expiry again for a link sent anew."""
        self._claim(_("This invitation was used or withdrawn already."), sent_at=timezone.now())
