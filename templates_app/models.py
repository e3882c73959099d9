import os
import re
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sms import text
from smsconsole.models import Account, Application, AuditLog, TransitionError, audit, compare_and_set, rows_changed
from smsconsole.upload_limits import too_large
from templates_app import reasons, rules


class MessageType(models.TextChoices):
    VERIFICATION = "verification", _("Verification code")  # 验证码类
    NOTIFICATION = "notification", _("Notification")  # 通知类
    PROMOTION = "promotion", _("Promotion")  # 推广类


class ReviewedModel(models.Model):
    """Fields and helpers shared by everything a reviewer approves or rejects."""

    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reason_code = models.CharField(_("rejection reason"), max_length=64, blank=True)
    reason_text = models.TextField(_("reviewer's comment"), blank=True)
    # Set when the result email goes out, cleared by each new decision: a task delivered twice mails once.
    result_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        abstract = True

    @property
    def reason_label(self):
        return reasons.label(self.reason_code)

    def _transition(self, allowed_from, to, condition=Q(), **fields):  # noqa: B008 (an empty Q is never mutated)
        """Compare-and-set on the status (see compare_and_set): a decision taken on a stale copy,
        say a reviewer's approval of a template its operator has just withdrawn, changes nothing."""
        if not compare_and_set(self, allowed_from, to, condition, **fields):
            raise TransitionError(
                _("Not allowed while the status is “%(status)s”.") % {"status": self.get_status_display()}
            )

    def _review(self, reviewer, reason_code="", reason_text=""):
        """The fields a decision sets; a new decision owes a new result email."""
        return {
            "reviewed_by": reviewer,
            "reviewed_at": timezone.now(),
            "reason_code": reason_code,
            "reason_text": reason_text,
            "result_notified_at": None,
        }

    def _check_reason(self, kind, reason_code, reason_text):
        if reason_code not in reasons.codes(kind):
            raise ValidationError(_("Choose a rejection reason from the catalogue."))
        if reason_code == reasons.OTHER and not reason_text.strip():
            raise ValidationError(_("Describe the reason when choosing “Other”."))


DOCUMENT_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".pdf"}
# The reference forbids these in document file names (cloud-sms-spec.md 2.4).
FORBIDDEN_FILENAME_CHARS = set(" \"#'$%&*/|<>{}[];?!")
# The first bytes each allowed format starts with, so a renamed executable is refused.
MAGIC = {
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".pdf": (b"%PDF-",),
}


def validate_document(upload):
    name = os.path.basename(upload.name)
    ext = os.path.splitext(name)[1].lower()
    if ext not in DOCUMENT_EXTENSIONS:
        raise ValidationError(_("Upload a JPG, PNG, GIF or PDF file."), code="extension")
    if len(name) > 64:
        raise ValidationError(_("The file name must be at most 64 characters."), code="name_length")
    if FORBIDDEN_FILENAME_CHARS & set(name):
        raise ValidationError(
            _("The file name must not contain spaces or any of \" # ' $ %% & * / | < > { } [ ] ; ? !"),
            code="name_chars",
        )
    if too_large(upload, settings.SMS_DOCUMENT_MAX_BYTES):
        raise ValidationError(
            _("The file is larger than %(mb)s MB.") % {"mb": settings.SMS_DOCUMENT_MAX_BYTES // (1024 * 1024)},
            code="size",
        )
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    head = upload.read(16)
    upload.seek(position)
    if not any(head.startswith(magic) for magic in MAGIC[ext]):
        raise ValidationError(_("The file's content is not a %(ext)s file.") % {"ext": ext[1:].upper()}, code="content")


def document_path(instance, filename):
    # A random folder per upload: names stay readable for reviewers but cannot be guessed or collide.
    return f"qualifications/{instance.account_id}/{uuid.uuid4().hex}/{os.path.basename(filename)}"


class Qualification(ReviewedModel):
    class Status(models.TextChoices):
        PENDING_REVIEW = "pending_review", _("Pending review")  # 审核中: waiting for a reviewer
        APPROVED = "approved", _("Approved")  # 审核通过: signatures may use it
        REJECTED = "rejected", _("Rejected")  # 审核不通过: see the reason; may be edited and resubmitted

    class Purpose(models.TextChoices):
        OWN_USE = "own_use", _("Own use")  # 自用
        THIRD_PARTY = "third_party", _("Third party (with authorisation letter)")  # 第三方业务使用

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="qualifications", verbose_name=_("account")
    )
    name = models.CharField(_("qualification name"), max_length=32)
    company_name = models.CharField(_("company name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=32, blank=True)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose, default=Purpose.OWN_USE)
    legal_representative = models.CharField(_("legal representative"), max_length=64, blank=True)
    handler_name = models.CharField(_("handler name"), max_length=64, blank=True)
    business_licence = models.FileField(
        _("business licence"), upload_to=document_path, validators=[validate_document], max_length=255
    )
    legal_person_id = models.FileField(
        _("legal representative's ID"), upload_to=document_path, validators=[validate_document], max_length=255
    )
    handler_id_front = models.FileField(
        _("handler's ID (front)"), upload_to=document_path, validators=[validate_document], max_length=255
    )
    handler_id_back = models.FileField(
        _("handler's ID (back)"), upload_to=document_path, validators=[validate_document], max_length=255
    )
    authorisation_letter = models.FileField(
        _("authorisation letter"), upload_to=document_path, validators=[validate_document], blank=True, max_length=255
    )
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.PENDING_REVIEW)

    DOCUMENT_FIELDS = (
        "business_licence",
        "legal_person_id",
        "handler_id_front",
        "handler_id_back",
        "authorisation_letter",
    )

    class Meta:
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="qualification_name_unique_per_account")
        ]

    def __str__(self):
        return self.name

    @property
    def owner_account(self):
        return self.account

    def clean(self):
        if self.purpose == self.Purpose.THIRD_PARTY and not self.authorisation_letter:
            raise ValidationError(
                {"authorisation_letter": _("A third-party qualification needs the authorisation letter.")}
            )

    @property
    def can_delete(self):
        # The reference: approved or in-review qualifications cannot be deleted.
        return self.status == self.Status.REJECTED

    @property
    def can_edit(self):
        return self.status == self.Status.REJECTED

    def resubmit(self):
        self._transition({self.Status.REJECTED}, self.Status.PENDING_REVIEW, submitted_at=timezone.now())

    def approve(self, reviewer):
        self._transition({self.Status.PENDING_REVIEW}, self.Status.APPROVED, **self._review(reviewer))
        Signature.follow_qualification_review(self, reviewer)

    def reject(self, reviewer, reason_code, reason_text=""):
        self._check_reason(reasons.QUALIFICATION, reason_code, reason_text)
        self._transition(
            {self.Status.PENDING_REVIEW}, self.Status.REJECTED, **self._review(reviewer, reason_code, reason_text)
        )
        Signature.follow_qualification_review(self, reviewer)


SIGNATURE_NAME_RE = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]+$")


def validate_signature_name(name):
    limit = settings.SMS_SIGNATURE_NAME_MAX_LENGTH
    if not 2 <= len(name) <= limit:
        raise ValidationError(_("A signature name has 2 to %(limit)s characters.") % {"limit": limit}, code="length")
    if not SIGNATURE_NAME_RE.match(name):
        raise ValidationError(_("Use only Chinese characters, letters and digits (no 【】)."), code="chars")
    if name.isdigit():
        raise ValidationError(_("A signature name cannot be only digits."), code="digits")


class SignatureStatus(models.TextChoices):
    """A signature's life as the carriers run it (cloud-sms-spec.md 2.3; the API's name in brackets).

    After content review a signature is filed with the carrier, which sets up its channel and
    registers its owner's qualification (实名报备) before it may send. Signatures created before
    filing was required (legacy) send while their qualification is back-filled. An account whose
    balance stays negative past the retention period has its signatures wait for activation.
    """

    PENDING_REVIEW = "pending_review", _("Pending review")  # 待签名审核 (PENDING_REVIEW): a reviewer checks the content
    REJECTED = "rejected", _("Rejected")  # 审核不通过 (REVIEW_NOT_PASS): see the reason; may be edited and resubmitted
    # 实名报备中 (REAL_NAME_REGISTRATING): content approved; the carrier sets up the channel and files the owner;
    # cannot send
    FILING = "filing", _("Filing with the carrier")
    # 实名报备失败: the carrier refused the filing (its reason is kept); correct the materials and resubmit; cannot send
    FILING_FAILED = "filing_failed", _("Rejected by the carrier")
    # 处理完毕 (REVIEW_PROCESSING_COMPLETED): filed, channel number issued; sends
    APPROVED = "approved", pgettext_lazy("signature status", "Approved")
    # 处理完毕(待补充资质) (REVIEW_PASSED): legacy, sends; the operator attaches a qualification
    LEGACY_UNQUALIFIED = "legacy_unqualified", _("Approved (qualification needed)")
    # 处理完毕(资质审核中) (REVIEW_PASSED_QUALIFICATION_PROCESSING): legacy, sends; its qualification is in review
    LEGACY_QUALIFYING = "legacy_qualifying", _("Approved (qualification in review)")
    # 处理完毕(实名报备中) (REVIEW_PASSED_REAL_NAME_REGISTRATING): legacy, sends; being filed with the carrier
    LEGACY_FILING = "legacy_filing", _("Approved (filing with the carrier)")
    # 处理完毕(实名报备失败) (REVIEW_PASSED_REAL_NAME_REGISTRATE_FAIL): legacy, sends; the carrier refused, attach again
    LEGACY_FILING_FAILED = "legacy_filing_failed", _("Approved (carrier filing failed)")
    # 待激活 (TO_BE_ACTIVATED): the account's arrears outlasted the retention period; request activation; cannot send
    TO_BE_ACTIVATED = "to_be_activated", _("To be activated")
    # 激活审核中 (PENDING_ACTIVATE): activation requested, staff decide; cannot send
    PENDING_ACTIVATION = "pending_activation", _("Activation in review")


# The one rule of which signatures may send (the reference's 处理完毕 states); everything that
# sends, or offers a signature for sending, asks Signature.can_send or Signature.objects.sendable().
SENDABLE = frozenset(
    {
        SignatureStatus.APPROVED,
        SignatureStatus.LEGACY_UNQUALIFIED,
        SignatureStatus.LEGACY_QUALIFYING,
        SignatureStatus.LEGACY_FILING,
        SignatureStatus.LEGACY_FILING_FAILED,
    }
)
LEGACY = frozenset(
    {
        SignatureStatus.LEGACY_UNQUALIFIED,
        SignatureStatus.LEGACY_QUALIFYING,
        SignatureStatus.LEGACY_FILING,
        SignatureStatus.LEGACY_FILING_FAILED,
    }
)
DEACTIVATED = frozenset({SignatureStatus.TO_BE_ACTIVATED, SignatureStatus.PENDING_ACTIVATION})
# Waiting for someone else's answer (a reviewer, the carrier, staff): the operator cannot delete it.
AWAITING_ANSWER = frozenset(
    {
        SignatureStatus.PENDING_REVIEW,
        SignatureStatus.FILING,
        SignatureStatus.LEGACY_QUALIFYING,
        SignatureStatus.LEGACY_FILING,
        SignatureStatus.PENDING_ACTIVATION,
    }
)
# What a carrier's refusal turns each filing state into.
CARRIER_REFUSAL = {
    SignatureStatus.FILING: SignatureStatus.FILING_FAILED,
    SignatureStatus.LEGACY_FILING: SignatureStatus.LEGACY_FILING_FAILED,
}
CHANNEL_NUMBER_RE = re.compile(r"^[0-9]{1,21}$")


class SignatureQuerySet(models.QuerySet):
    def sendable(self):
        """The signatures that may send now (SENDABLE)."""
        return self.filter(status__in=SENDABLE)


class Signature(ReviewedModel):
    Status = SignatureStatus

    class Source(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise or institution")  # 0 企事业单位
        WEBSITE = "website", _("ICP-registered website")  # 1 工信部备案网站
        APP = "app", _("App")  # 2 APP
        OFFICIAL_ACCOUNT = "official_account", _("Official account or mini program")  # 3 公众号/小程序
        SHOP = "shop", _("E-commerce shop")  # 4 电商平台店铺
        TRADEMARK = "trademark", _("Trademark")  # 5 商标

    SENDABLE = SENDABLE

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="signatures", verbose_name=_("application")
    )
    name = models.CharField(_("signature name"), max_length=32)
    type = models.CharField(_("type"), max_length=16, choices=MessageType)
    source = models.CharField(_("source"), max_length=20, choices=Source, default=Source.ENTERPRISE)
    # Empty only for a legacy signature that waits for its qualification (see the constraint).
    qualification = models.ForeignKey(
        Qualification,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="signatures",
        verbose_name=_("qualification"),
    )
    description = models.TextField(_("application notes"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=SignatureStatus, default=SignatureStatus.PENDING_REVIEW
    )
    channel_number = models.CharField(_("channel number"), max_length=21, unique=True, null=True, blank=True)
    urged_at = models.DateTimeField(_("urged at"), null=True, blank=True)
    # The carrier's side: when the signature was filed, and its answer as staff recorded it.
    filed_at = models.DateTimeField(_("filed with the carrier at"), null=True, blank=True)
    carrier_answered_at = models.DateTimeField(_("carrier answered at"), null=True, blank=True)
    carrier_answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("carrier's answer recorded by"),
    )
    carrier_reason = models.TextField(_("carrier's reason"), blank=True)
    # While to be activated: the sendable state activation gives back.
    restore_status = models.CharField(_("status after activation"), max_length=20, choices=SignatureStatus, blank=True)
    activation_requested_at = models.DateTimeField(_("activation requested at"), null=True, blank=True)

    objects = SignatureQuerySet.as_manager()

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["-created_at"]
        constraints = [
            # The same name may be registered once per type (reference 2.3).
            models.UniqueConstraint(fields=["application", "name", "type"], name="signature_unique_per_type"),
            # A signature keeps its channel number while it sends and while it waits for activation.
            models.CheckConstraint(
                condition=~Q(status__in=SENDABLE | DEACTIVATED) | Q(channel_number__isnull=False),
                name="sendable_signature_has_channel_number",
            ),
            models.CheckConstraint(
                condition=Q(qualification__isnull=False)
                | Q(status=SignatureStatus.LEGACY_UNQUALIFIED)
                | Q(status__in=DEACTIVATED, restore_status=SignatureStatus.LEGACY_UNQUALIFIED),
                name="signature_without_qualification_is_legacy",
            ),
            models.CheckConstraint(
                condition=Q(status__in=DEACTIVATED, restore_status__in=SENDABLE)
                | (~Q(status__in=DEACTIVATED) & Q(restore_status="")),
                name="deactivated_signature_knows_its_state",
            ),
        ]

    def __str__(self):
        return text.sign(self.name, "")

    @property
    def owner_account(self):
        return self.application.account

    @classmethod
    def check_quota(cls, application):
        if cls.objects.filter(application=application).count() >= settings.SMS_MAX_SIGNATURES_PER_APPLICATION:
            raise ValidationError(
                _("An application can have at most %(n)s signatures.")
                % {"n": settings.SMS_MAX_SIGNATURES_PER_APPLICATION}
            )

    # --- what the operator may do ------------------------------------------------------------

    @property
    def can_send(self):
        return self.status in SENDABLE

    @property
    def is_legacy(self):
        return self.status in LEGACY

    @property
    def issued_channel_number(self):
        """The channel number while the carrier's filing stands (sending or waiting for activation)."""
        return self.channel_number if self.status in SENDABLE | DEACTIVATED else None

    @property
    def needs_qualification(self):
        """A legacy signature waiting for the operator to attach a qualification (again)."""
        return self.status in {self.Status.LEGACY_UNQUALIFIED, self.Status.LEGACY_FILING_FAILED}

    @property
    def passed_content_review(self):
        return self.status not in {self.Status.PENDING_REVIEW, self.Status.REJECTED}

    @property
    def carrier_refused(self):
        return self.status in {self.Status.FILING_FAILED, self.Status.LEGACY_FILING_FAILED}

    @property
    def can_delete(self):
        return self.status not in AWAITING_ANSWER

    @property
    def can_edit(self):
        """Rejected in review (edited and reviewed again), or by the carrier (materials corrected and filed again)."""
        return self.status in {self.Status.REJECTED, self.Status.FILING_FAILED}

    @property
    def can_urge(self):
        return self.status == self.Status.PENDING_REVIEW and self.urged_at is None

    @property
    def can_request_activation(self):
        return self.status == self.Status.TO_BE_ACTIVATED

    def urge(self):
        if not (self.can_urge and _urge(self)):
            raise TransitionError(_("Only a pending signature can be urged, once."))

    def resubmit(self):
        """After a rejection, corrected: a reviewer's rejection goes back to content review, the
        carrier's back to the carrier (which files approved qualifications only)."""
        if self.status == self.Status.FILING_FAILED:
            self._require_approved_qualification(
                _("The carrier files approved qualifications only: choose an approved one.")
            )
            self._transition({self.Status.FILING_FAILED}, self.Status.FILING, filed_at=timezone.now())
            return
        self._transition({self.Status.REJECTED}, self.Status.PENDING_REVIEW, submitted_at=timezone.now(), urged_at=None)

    def attach_qualification(self, qualification):
        """Back-filling a legacy signature: with an approved qualification it is filed with the
        carrier at once, with one in review it waits for that review. It sends all along."""
        if (
            qualification.account_id != self.application.account_id
            or qualification.status == Qualification.Status.REJECTED
        ):
            raise TransitionError(_("Choose an approved or in-review qualification of your account."))
        approved = qualification.status == Qualification.Status.APPROVED
        to = self.Status.LEGACY_FILING if approved else self.Status.LEGACY_QUALIFYING
        self._transition(
            {self.Status.LEGACY_UNQUALIFIED, self.Status.LEGACY_FILING_FAILED},
            to,
            qualification=qualification,
            filed_at=timezone.now() if approved else None,
        )

    def request_activation(self):
        if self.application.account.overdrawn_since is not None:
            raise TransitionError(_("Top up first: the account's balance is negative."))
        self._transition(
            {self.Status.TO_BE_ACTIVATED}, self.Status.PENDING_ACTIVATION, activation_requested_at=timezone.now()
        )

    # --- reviewers' decisions ----------------------------------------------------------------

    def _require_approved_qualification(self, message):
        if self.qualification is None or self.qualification.status != Qualification.Status.APPROVED:
            raise TransitionError(message)

    def approve(self, reviewer):
        """Content approved: the signature goes to the carrier for its channel and real-name filing."""
        self._require_approved_qualification(_("Approve the signature's qualification first."))
        self._transition(
            {self.Status.PENDING_REVIEW}, self.Status.FILING, filed_at=timezone.now(), **self._review(reviewer)
        )

    def reject(self, reviewer, reason_code, reason_text=""):
        self._check_reason(reasons.SIGNATURE, reason_code, reason_text)
        self._transition(
            {self.Status.PENDING_REVIEW}, self.Status.REJECTED, **self._review(reviewer, reason_code, reason_text)
        )

    def mark_legacy(self):
        """Staff mark a signature created before real-name filing: it keeps sending and needs its
        owner's qualification attached (the one it had is let go)."""
        self._transition(
            {self.Status.APPROVED}, self.Status.LEGACY_UNQUALIFIED, qualification=None, result_notified_at=None
        )

    def approve_activation(self, reviewer):
        if self.application.account.overdrawn_since is not None:
            raise TransitionError(_("The account's balance is still negative."))
        restore = self.restore_status
        self._transition(
            {self.Status.PENDING_ACTIVATION},
            restore,
            Q(restore_status=restore),
            restore_status="",
            **self._review(reviewer),
        )

    def reject_activation(self, reviewer, reason_code, reason_text=""):
        self._check_reason(reasons.ACTIVATION, reason_code, reason_text)
        self._transition(
            {self.Status.PENDING_ACTIVATION},
            self.Status.TO_BE_ACTIVATED,
            **self._review(reviewer, reason_code, reason_text),
        )

    # --- the carrier's answers, recorded by staff ---------------------------------------------

    def _carrier_answer(self, recorded_by, reason=""):
        return {
            "carrier_answered_by": recorded_by,
            "carrier_answered_at": timezone.now(),
            "carrier_reason": reason,
            "result_notified_at": None,
        }

    def carrier_approve(self, recorded_by, channel_number=""):
        """The carrier filed the signature; its channel number is the carrier's when it assigned
        one, else the one the signature has, else a new one is drawn."""
        channel_number = (channel_number or "").strip()
        if channel_number and not CHANNEL_NUMBER_RE.match(channel_number):
            raise TransitionError(_("A channel number has 1 to 21 digits."))
        taken = _("The channel number %(number)s belongs to another signature.") % {"number": channel_number}
        if channel_number and Signature.objects.filter(channel_number=channel_number).exclude(pk=self.pk).exists():
            raise TransitionError(taken)
        number = channel_number or self.channel_number
        fields = self._carrier_answer(recorded_by)
        for _attempt in range(10):
            number = number or _new_channel_number()
            try:
                with transaction.atomic():
                    self._transition(set(CARRIER_REFUSAL), self.Status.APPROVED, channel_number=number, **fields)
                return
            except IntegrityError:
                if channel_number:
                    raise TransitionError(taken) from None
                number = None  # another signature has this number; draw again
        raise RuntimeError("could not allocate a unique channel number")

    def carrier_reject(self, recorded_by, reason):
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError(_("Give the carrier's reason."))
        # A status read from a stale copy fails the compare-and-set like any other.
        current = self.status if self.status in CARRIER_REFUSAL else self.Status.FILING
        self._transition({current}, CARRIER_REFUSAL[current], **self._carrier_answer(recorded_by, reason))

    # --- moves that follow from elsewhere -------------------------------------------------------

    @classmethod
    def follow_qualification_review(cls, qualification, reviewer):
        """A legacy signature waiting on `qualification`'s review is filed once it is approved, or
        needs a qualification again once it is rejected; each move audited."""
        approved = qualification.status == Qualification.Status.APPROVED
        to = cls.Status.LEGACY_FILING if approved else cls.Status.LEGACY_UNQUALIFIED
        fields = {"filed_at": timezone.now()} if approved else {}
        waiting = cls.objects.select_related("application__account").filter(
            qualification=qualification, status=cls.Status.LEGACY_QUALIFYING
        )
        for signature in waiting:
            if compare_and_set(signature, {cls.Status.LEGACY_QUALIFYING}, to, **fields):
                audit(
                    reviewer,
                    "qualification_" + qualification.status,
                    signature,
                    before={"status": cls.Status.LEGACY_QUALIFYING},
                    after={"status": to},
                )

    @classmethod
    def deactivate_for_arrears(cls, account):
        """Every sendable signature of `account` waits for activation (待激活), remembering its
        state; nothing is deleted. Returns the ids moved, each move audited."""
        with transaction.atomic():
            moving = list(
                cls.objects.select_for_update(of=("self",))
                .filter(application__account=account, status__in=SENDABLE)
                .values_list("pk", "status", "name", "type")
            )
            if not moving:
                return []
            cls.objects.filter(pk__in=[pk for pk, *_rest in moving], status__in=SENDABLE).update(
                status=cls.Status.TO_BE_ACTIVATED,
                restore_status=F("status"),
                result_notified_at=None,
            )
            rows_changed.send(sender=cls)
            AuditLog.objects.bulk_create(
                AuditLog(
                    account=account,
                    action="arrears_to_be_activated",
                    object_type=cls._meta.model_name,
                    object_id=str(pk),
                    object_repr=text.sign(name, ""),
                    before={"status": status},
                    after={"status": cls.Status.TO_BE_ACTIVATED},
                )
                for pk, status, name, _type in moving
            )
        return [pk for pk, *_rest in moving]


def _urge(obj):
    """The one urge a pending item gets: pending stays pending, and only if it was never urged."""
    pending = obj.Status.PENDING_REVIEW
    return compare_and_set(obj, {pending}, pending, Q(urged_at__isnull=True), urged_at=timezone.now())


def _new_channel_number():
    # 106 is the mainland prefix for service numbers; the extension is random, as the
    # reference says carriers allocate it and it cannot be chosen.
    return "1069" + "".join(secrets.choice("0123456789") for _ in range(8))


class Template(ReviewedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")  # 待提交: saved, not yet submitted; editable
        PENDING_REVIEW = "pending_review", _("Pending review")  # 待审核: may be urged or withdrawn
        ACTIVE = "active", _("Approved (active)")  # 审核通过-激活: usable for sending
        INACTIVE = "inactive", _("Approved (inactive)")  # 审核通过-去激活: cannot be restored, apply again
        REJECTED = "rejected", _("Rejected")  # 审核不通过: may be edited and resubmitted

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="templates", verbose_name=_("application")
    )
    signature = models.ForeignKey(
        Signature,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="templates",
        verbose_name=_("signature"),
    )
    name = models.CharField(_("template name"), max_length=30)
    type = models.CharField(_("type"), max_length=16, choices=MessageType)
    universal = models.BooleanField(
        _("universal template"),
        default=False,
        help_text=_("Usable by every signature of the same type in the application."),
    )
    content = models.TextField(_("content"))
    description = models.TextField(_("application notes"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.DRAFT)
    urged_at = models.DateTimeField(_("urged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("template")
        verbose_name_plural = _("templates")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(universal=True) | models.Q(signature__isnull=False),
                name="template_has_signature_unless_universal",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def owner_account(self):
        return self.application.account

    @classmethod
    def check_quota(cls, application):
        if cls.objects.filter(application=application).count() >= settings.SMS_MAX_TEMPLATES_PER_APPLICATION:
            raise ValidationError(
                _("An application can have at most %(n)s templates.")
                % {"n": settings.SMS_MAX_TEMPLATES_PER_APPLICATION}
            )

    # The operations table of the reference (cloud-sms-spec.md 2.2), with the newer draft state.
    @property
    def can_edit(self):
        return self.status in {self.Status.DRAFT, self.Status.REJECTED}

    @property
    def can_delete(self):
        return self.status != self.Status.PENDING_REVIEW

    @property
    def can_urge(self):
        return self.status == self.Status.PENDING_REVIEW and self.urged_at is None

    @property
    def can_submit(self):
        return self.status in {self.Status.DRAFT, self.Status.REJECTED}

    @property
    def can_withdraw(self):
        return self.status == self.Status.PENDING_REVIEW

    def submit(self):
        self._transition(
            {self.Status.DRAFT, self.Status.REJECTED},
            self.Status.PENDING_REVIEW,
            submitted_at=timezone.now(),
            urged_at=None,
        )

    def withdraw(self):
        self._transition({self.Status.PENDING_REVIEW}, self.Status.DRAFT, urged_at=None)

    def urge(self):
        if not (self.can_urge and _urge(self)):
            raise TransitionError(_("Only a pending template can be urged, once."))

    def approve(self, reviewer):
        if self.signature_id and not self.signature.passed_content_review:
            raise TransitionError(_("Approve the template's signature first."))
        self._transition({self.Status.PENDING_REVIEW}, self.Status.ACTIVE, **self._review(reviewer))

    def reject(self, reviewer, reason_code, reason_text=""):
        self._check_reason(reasons.TEMPLATE, reason_code, reason_text)
        self._transition(
            {self.Status.PENDING_REVIEW}, self.Status.REJECTED, **self._review(reviewer, reason_code, reason_text)
        )

    def deactivate(self, reviewer, reason_text=""):
        """Approved-active to approved-inactive, e.g. after a carrier rule change; not reversible."""
        self._transition({self.Status.ACTIVE}, self.Status.INACTIVE, reason_text=reason_text, result_notified_at=None)

    @property
    def signature_name(self):
        return self.signature.name if self.signature_id else None

    @property
    def signed_content(self):
        return text.sign(self.signature_name, self.content)

    def measure(self):
        """Segments with every variable at its maximum length and the signature added, the figure
        the console and the review desk both show; reads the prefetched `variables`."""
        by_position = {v.position: v.max_length for v in self.variables.all()}
        lengths = [
            by_position.get(v.index, rules.ATTRIBUTE_MAX_LENGTH[rules.default_attribute(v.label)])
            for v in text.find_variables(self.content)
        ]
        return text.count_template(text.split(self.content, self.signature_name), lengths)


class TemplateVariable(models.Model):
    """The attribute and maximum length chosen for one `${…}` of a template, by position."""

    class Attribute(models.TextChoices):
        PHONE = "PHONE", _("Phone number")  # 电话号码
        CHARDIGIT = "CHARDIGIT", _("Code or number (letters and digits)")  # 其他号码
        DATETIME = "DATETIME", _("Date or time")  # 时间
        MONEY = "MONEY", _("Amount")  # 金额
        TEXT = "TEXT", _("Other text (names, accounts, addresses)")  # 其他

    template = models.ForeignKey(
        Template, on_delete=models.CASCADE, related_name="variables", verbose_name=_("template")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    attribute = models.CharField(_("attribute"), max_length=16, choices=Attribute, default=Attribute.TEXT)
    max_length = models.PositiveSmallIntegerField(_("maximum length"), default=20)
    description = models.CharField(_("description"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("template variable")
        verbose_name_plural = _("template variables")
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["template", "position"], name="template_variable_position_unique"),
        ]

    def __str__(self):
        return f"${{{self.position}}} {self.attribute}({self.max_length})"


class NotificationContact(models.Model):
    """Someone who hears review results and traffic warnings by email, and by SMS if they ask (联系人管理)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="notification_contacts", verbose_name=_("account")
    )
    name = models.CharField(_("name"), max_length=64)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("email"))
    notify_signature = models.BooleanField(_("signature review results"), default=True)
    notify_template = models.BooleanField(_("template review results"), default=True)
    notify_traffic = models.BooleanField(_("traffic warnings"), default=True)
    notify_qualification = models.BooleanField(_("qualification review results"), default=True)
    # The same notices as an SMS to `phone` too, from the system signature (campaigns.notices).
    notify_by_sms = models.BooleanField(_("also by SMS"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("notification contact")
        verbose_name_plural = _("notification contacts")
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.name} <{self.email}>"

    @classmethod
    def check_quota(cls, account):
        if cls.objects.filter(account=account).count() >= settings.SMS_MAX_NOTIFICATION_CONTACTS:
            raise ValidationError(
                _("An account can have at most %(n)s notification contacts.")
                % {"n": settings.SMS_MAX_NOTIFICATION_CONTACTS}
            )


def review_queue(queryset):
    """Pending items, urged ones first (earliest urge first), then the oldest submission."""
    return queryset.filter(status="pending_review").order_by(
        F("urged_at").asc(nulls_last=True), F("submitted_at").asc(nulls_last=True), "id"
    )
