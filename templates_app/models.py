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

from sms import text
from smsconsole.models import Account, Application, TransitionError, compare_and_set
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
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
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

    def _transition(self, allowed_from, to, **fields):
        """Compare-and-set on the status (see compare_and_set): a decision taken on a stale copy,
        say a reviewer's approval of a template its operator has just withdrawn, changes nothing."""
        if not compare_and_set(self, allowed_from, to, **fields):
            raise TransitionError(
                _("Not allowed while the status is “%(status)s”.") % {"status": self.get_status_display()}
            )

    def _review(self, reviewer, reason_code="", reason_text=""):
        """The fields a decision sets; a new decision owes a new result email."""
        return {
            "reviewed_by": reviewer, "reviewed_at": timezone.now(), "reason_code": reason_code,
            "reason_text": reason_text, "result_notified_at": None,
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

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="qualifications", verbose_name=_("account"))
    name = models.CharField(_("qualification name"), max_length=32)
    company_name = models.CharField(_("company name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=32, blank=True)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose, default=Purpose.OWN_USE)
    legal_representative = models.CharField(_("legal representative"), max_length=64, blank=True)
    handler_name = models.CharField(_("handler name"), max_length=64, blank=True)
    business_licence = models.FileField(_("business licence"), upload_to=document_path, validators=[validate_document], max_length=255)
    legal_person_id = models.FileField(_("legal representative's ID"), upload_to=document_path, validators=[validate_document], max_length=255)
    handler_id_front = models.FileField(_("handler's ID (front)"), upload_to=document_path, validators=[validate_document], max_length=255)
    handler_id_back = models.FileField(_("handler's ID (back)"), upload_to=document_path, validators=[validate_document], max_length=255)
    authorisation_letter = models.FileField(
        _("authorisation letter"), upload_to=document_path, validators=[validate_document], blank=True, max_length=255
    )
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.PENDING_REVIEW)

    DOCUMENT_FIELDS = ("business_licence", "legal_person_id", "handler_id_front", "handler_id_back", "authorisation_letter")

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
            raise ValidationError({"authorisation_letter": _("A third-party qualification needs the authorisation letter.")})

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

    def reject(self, reviewer, reason_code, reason_text=""):
        self._check_reason(reasons.QUALIFICATION, reason_code, reason_text)
        self._transition(
            {self.Status.PENDING_REVIEW}, self.Status.REJECTED, **self._review(reviewer, reason_code, reason_text)
        )


SIGNATURE_NAME_RE = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]+$")


def validate_signature_name(name):
    limit = settings.SMS_SIGNATURE_NAME_MAX_LENGTH
    if not 2 <= len(name) <= limit:
        raise ValidationError(_("A signature name has 2 to %(limit)s characters.") % {"limit": limit}, code="length")
    if not SIGNATURE_NAME_RE.match(name):
        raise ValidationError(_("Use only Chinese characters, letters and digits (no 【】)."), code="chars")
    if name.isdigit():
        raise ValidationError(_("A signature name cannot be only digits."), code="digits")


class Signature(ReviewedModel):
    class Status(models.TextChoices):
        PENDING_REVIEW = "pending_review", _("Pending review")  # 待签名审核
        APPROVED = "approved", _("Approved")  # 处理完毕: reviewed, channel number allocated, usable
        REJECTED = "rejected", _("Rejected")  # 审核不通过: see the reason; may be edited and resubmitted

    class Source(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise or institution")  # 0 企事业单位
        WEBSITE = "website", _("ICP-registered website")  # 1 工信部备案网站
        APP = "app", _("App")  # 2 APP
        OFFICIAL_ACCOUNT = "official_account", _("Official account or mini program")  # 3 公众号/小程序
        SHOP = "shop", _("E-commerce shop")  # 4 电商平台店铺
        TRADEMARK = "trademark", _("Trademark")  # 5 商标

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="signatures", verbose_name=_("application")
    )
    name = models.CharField(_("signature name"), max_length=32)
    type = models.CharField(_("type"), max_length=16, choices=MessageType)
    source = models.CharField(_("source"), max_length=20, choices=Source, default=Source.ENTERPRISE)
    qualification = models.ForeignKey(
        Qualification, on_delete=models.PROTECT, related_name="signatures", verbose_name=_("qualification")
    )
    description = models.TextField(_("application notes"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.PENDING_REVIEW)
    channel_number = models.CharField(_("channel number"), max_length=21, unique=True, null=True, blank=True)
    urged_at = models.DateTimeField(_("urged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["-created_at"]
        constraints = [
            # The same name may be registered once per type (reference 2.3).
            models.UniqueConstraint(fields=["application", "name", "type"], name="signature_unique_per_type"),
            models.CheckConstraint(
                condition=~models.Q(status="approved") | models.Q(channel_number__isnull=False),
                name="approved_signature_has_channel_number",
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
                _("An application can have at most %(n)s signatures.") % {"n": settings.SMS_MAX_SIGNATURES_PER_APPLICATION}
            )

    @property
    def can_delete(self):
        return self.status != self.Status.PENDING_REVIEW

    @property
    def can_edit(self):
        return self.status == self.Status.REJECTED

    @property
    def can_urge(self):
        return self.status == self.Status.PENDING_REVIEW and self.urged_at is None

    def urge(self):
        if not (self.can_urge and _urge(self)):
            raise TransitionError(_("Only a pending signature can be urged, once."))

    def resubmit(self):
        self._transition(
            {self.Status.REJECTED}, self.Status.PENDING_REVIEW, submitted_at=timezone.now(), urged_at=None
        )

    def approve(self, reviewer):
        if self.qualification.status != Qualification.Status.APPROVED:
            raise TransitionError(_("Approve the signature's qualification first."))
        fields = self._review(reviewer)
        number = self.channel_number
        for _attempt in range(10):
            number = number or _new_channel_number()
            try:
                with transaction.atomic():
                    self._transition({self.Status.PENDING_REVIEW}, self.Status.APPROVED, channel_number=number, **fields)
                return
            except IntegrityError:
                number = None  # another signature has this number; draw again
        raise RuntimeError("could not allocate a unique channel number")

    def reject(self, reviewer, reason_code, reason_text=""):
        self._check_reason(reasons.SIGNATURE, reason_code, reason_text)
        self._transition(
            {self.Status.PENDING_REVIEW}, self.Status.REJECTED, **self._review(reviewer, reason_code, reason_text)
        )


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
        Signature, null=True, blank=True, on_delete=models.PROTECT, related_name="templates", verbose_name=_("signature")
    )
    name = models.CharField(_("template name"), max_length=30)
    type = models.CharField(_("type"), max_length=16, choices=MessageType)
    universal = models.BooleanField(
        _("universal template"), default=False, help_text=_("Usable by every signature of the same type in the application.")
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
                _("An application can have at most %(n)s templates.") % {"n": settings.SMS_MAX_TEMPLATES_PER_APPLICATION}
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
            {self.Status.DRAFT, self.Status.REJECTED}, self.Status.PENDING_REVIEW,
            submitted_at=timezone.now(), urged_at=None,
        )

    def withdraw(self):
        self._transition({self.Status.PENDING_REVIEW}, self.Status.DRAFT, urged_at=None)

    def urge(self):
        if not (self.can_urge and _urge(self)):
            raise TransitionError(_("Only a pending template can be urged, once."))

    def approve(self, reviewer):
        if self.signature_id and self.signature.status != Signature.Status.APPROVED:
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

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="variables", verbose_name=_("template"))
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
    """Someone who hears review results by email (联系人管理)."""

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
                _("An account can have at most %(n)s notification contacts.") % {"n": settings.SMS_MAX_NOTIFICATION_CONTACTS}
            )


def review_queue(queryset):
    """Pending items, urged ones first (earliest urge first), then the oldest submission."""
    return queryset.filter(status="pending_review").order_by(
        F("urged_at").asc(nulls_last=True), F("submitted_at").asc(nulls_last=True), "id"
    )
