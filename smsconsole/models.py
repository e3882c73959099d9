import secrets
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from smsconsole import crypto

# Rows of `sender` changed by a bare UPDATE (a status transition, a bulk move), which sends no
# post_save: whoever keeps copies of such rows (api.route_cache) listens.
rows_changed = Signal()


class TransitionError(ValidationError):
    """Raised by a model method asked for a state change its current state does not allow."""


def compare_and_set(instance, allowed_from, to, condition=Q(), **fields):  # noqa: B008 (an empty Q is never mutated)
    """Moves the row from one of `allowed_from` to `to` with `fields`, in one UPDATE filtered on
    the status (and `condition`), so two requests, or a request and a task, cannot both win, and a
    decision taken on a stale instance changes nothing. Returns False, with the instance's status
    reloaded, when the row was not in an allowed state; on success the instance holds the new values."""
    updated = (
        type(instance)
        ._default_manager.filter(condition, pk=instance.pk, status__in=allowed_from)
        .update(status=to, **fields)
    )
    if not updated:
        instance.refresh_from_db(fields=["status"])
        return False
    rows_changed.send(sender=type(instance))
    instance.status = to
    for name, value in fields.items():
        setattr(instance, name, value)
    return True


def _default_timezone():
    return settings.TIME_ZONE


def timezone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


def validate_timezone(value):
    # Checked here rather than as field choices: the tz database changes, migrations should not.
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a time zone name such as Asia/Shanghai."), params={"value": value})


class AccountQuerySet(models.QuerySet):
    def frozen(self, now=None):
        """Accounts whose sending stopped for arrears (Account.frozen_at has passed)."""
        return self.filter(overdrawn_since__lte=(now or timezone.now()) - _grace())

    def past_retention(self, now=None):
        """Frozen accounts whose signatures must wait for activation (Account.retention_ends_at has passed)."""
        return self.filter(overdrawn_since__lte=(now or timezone.now()) - _grace() - _retention())


# Why an account may not send, stored untranslated (a campaign's failure_reason) and translated when shown.
FROZEN_REASON = gettext_noop(
    "The account is in arrears: its balance stayed negative, so sending stopped until it is topped up."
)


def _grace():
    return timedelta(hours=settings.SMS_ARREARS_GRACE_HOURS)


def _retention():
    return timedelta(days=settings.SMS_ARREARS_RETENTION_DAYS)


class Account(models.Model):
    """A company using the console; every user-visible object belongs to exactly one.

    Arrears (欠费, cloud-sms-spec.md 4.4) follow from `overdrawn_since`: sending stops once the
    balance has stayed negative for SMS_ARREARS_GRACE_HOURS (the account is frozen), and when it
    stays frozen for SMS_ARREARS_RETENTION_DAYS its signatures wait for activation. A top-up that
    brings the balance back to zero or above ends the arrears. Nothing is ever deleted.
    """

    name = models.CharField(_("name"), max_length=100)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Pages, exports and (for promotions) quiet hours follow the account's clock. (Defined after
    # created_at: in the class body this name hides django.utils.timezone.)
    timezone = models.CharField(
        _("time zone"), max_length=64, default=_default_timezone, validators=[validate_timezone]
    )
    # Personal data: read-only members see numbers masked (138****8000) unless an operator grants
    # them full numbers here (smsconsole.privacy).
    read_only_full_numbers = models.BooleanField(_("read-only members see full numbers"), default=False)
    # How long the text rendered for a record (a message's variable values) is kept after the
    # message was handed to the provider; 0 keeps none, as the cloud consoles do. Numbers stay
    # longer (SMS_STATISTICS_RETENTION_DAYS); campaigns.privacy purges both.
    message_text_days = models.PositiveSmallIntegerField(
        _("days message text is kept"),
        default=30,
        help_text=_("0 keeps no message text once a message is handed to the carrier."),
    )
    # The sum of the account's ledger (campaigns.models.money); moved only by campaigns.money.
    balance = models.DecimalField(_("balance"), max_digits=16, decimal_places=4, default=0, editable=False)
    # When the balance last turned negative; cleared when it is back at zero or above. Moved with
    # the balance, in the same UPDATE (campaigns.money).
    overdrawn_since = models.DateTimeField(_("balance negative since"), null=True, blank=True, editable=False)
    # Replies whose whole text is one of these opt the number out (sms.optout); empty means the
    # defaults (R, T, TD, N, 退订, STOP, UNSUBSCRIBE), a list of its own replaces them.
    opt_out_keywords = models.JSONField(
        _("opt-out keywords"),
        default=list,
        blank=True,
        help_text=_(
            "Replies that are one of these words opt the number out. Empty: R, T, TD, N, 退订, STOP, UNSUBSCRIBE."
        ),
    )

    # The platform's own account (campaigns.notices): it sends the notices to other
    # accounts' notification contacts from the system signature, outside quotas and the balance.
    is_system = models.BooleanField(_("system account"), default=False, editable=False)

    objects = AccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__lt=0, overdrawn_since__isnull=False)
                | Q(balance__gte=0, overdrawn_since__isnull=True),
                name="account_overdrawn_since_iff_negative",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def frozen_at(self):
        """When sending stops (or stopped) for arrears; None while the balance is not negative."""
        return None if self.overdrawn_since is None else self.overdrawn_since + _grace()

    @property
    def retention_ends_at(self):
        """When the signatures of a frozen account start waiting for activation."""
        return None if self.overdrawn_since is None else self.frozen_at + _retention()

    @property
    def is_frozen(self):
        """Sending stopped for arrears: the planner, the send API and resuming campaigns ask this."""
        return self.frozen_at is not None and self.frozen_at <= timezone.now()


class Membership(models.Model):
    class Role(models.TextChoices):
        OPERATOR = "operator", _("Operator")  # applies for content, manages applications
        READ_ONLY = "read_only", _("Read-only")  # sees everything of the account, changes nothing

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("user"))
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("account")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role, default=Role.OPERATOR)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self):
        return f"{self.user} @ {self.account} ({self.role})"

    @property
    def can_edit(self):
        return self.role == self.Role.OPERATOR

    @property
    def sees_full_numbers(self):
        return self.can_edit or self.account.read_only_full_numbers

    def _refuse_if_last_operator(self):
        """Inside a transaction: locks the account's operators, so two operators demoting or
        removing each other at once cannot leave the account with none."""
        operators = list(
            Membership.objects.select_for_update()
            .filter(account_id=self.account_id, role=self.Role.OPERATOR)
            .values_list("pk", flat=True)
        )
        if operators == [self.pk]:
            raise TransitionError(_("The account needs an operator: make someone else an operator first."))

    def change_role(self, role):
        """Gives the member `role`; refuses to demote the account's last operator."""
        if role not in self.Role.values:
            raise ValueError(f"unknown role {role!r}")
        with transaction.atomic():
            if role != self.Role.OPERATOR:
                self._refuse_if_last_operator()
            Membership.objects.filter(pk=self.pk).update(role=role)
        self.role = role

    def remove(self):
        """Takes the member out of the account; refuses for the last operator. The user is
        deactivated rather than deleted (a user belongs to one account, and the audit log keeps
        naming who did what); staff users keep their admin access."""
        with transaction.atomic():
            self._refuse_if_last_operator()
            Membership.objects.filter(pk=self.pk).delete()
            user = self.user
            if user.is_active and not user.is_staff:
                user.is_active = False
                user.save(update_fields=["is_active"])


def _new_app_key():
    return secrets.token_hex(16)


def _new_app_secret():
    return secrets.token_urlsafe(24)


class Application(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", _("Created")  # 待上线: set up, not yet launched
        LAUNCHED = "launched", _("Launched")  # 正常: may send
        SUSPENDED = "suspended", _("Suspended")  # 暂停: stopped for a violation or by the operator

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="applications", verbose_name=_("account")
    )
    name = models.CharField(_("name"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.CREATED)
    app_key = models.CharField(_("app key"), max_length=64, unique=True, default=_new_app_key)
    app_secret_encrypted = models.TextField(editable=False)
    upstream_url = models.URLField(_("upstream reply URL"), blank=True)
    report_url = models.URLField(_("batch status report URL"), blank=True)
    ip_allowlist = models.TextField(
        _("IP allow-list"), blank=True, help_text=_("One IP address or CIDR range a line; empty allows any.")
    )
    default_region = models.CharField(_("default region for numbers"), max_length=2, default="CN")
    # The provider connection its API sends go out on; empty: settings.SMS_DEFAULT_CONNECTION.
    connection = models.ForeignKey(
        "campaigns.ProviderConnection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("provider connection for API sends"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="application_name_unique_per_account")]

    def __str__(self):
        return self.name

    @property
    def app_secret(self):
        return crypto.decrypt(self.app_secret_encrypted)

    def set_new_secret(self):
        """Generates a secret, stores it encrypted and returns the plaintext to show once."""
        plaintext = _new_app_secret()
        self.app_secret_encrypted = crypto.encrypt(plaintext)
        return plaintext

    def reset_secret(self):
        plaintext = self.set_new_secret()
        self.save(update_fields=["app_secret_encrypted"])
        return plaintext

    def _move(self, allowed_from, to):
        if not compare_and_set(self, allowed_from, to, status_changed_at=timezone.now()):
            raise TransitionError(
                _("An application that is %(status)s cannot be changed this way.")
                % {"status": self.get_status_display()}
            )

    def launch(self):
        self._move({self.Status.CREATED, self.Status.SUSPENDED}, self.Status.LAUNCHED)

    def suspend(self):
        self._move({self.Status.LAUNCHED}, self.Status.SUSPENDED)


class AuditLog(models.Model):
    """Who did what to which object, with the state before and after."""

    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("account"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("who")
    )
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}#{self.object_id}"


def audit(actor, action, obj, before=None, after=None, account=None):
    """Records one audited action; `obj` is any model instance, `account` defaults to its owner's
    (or to `obj` itself when it is an account)."""
    if account is None and isinstance(obj, Account):
        account = obj
    if account is None:
        account = getattr(obj, "owner_account", None) or getattr(obj, "account", None)
    return AuditLog.objects.create(
        account=account,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=before,
        after=after,
    )


def create_application(account, name, **fields):
    """Creates an application with a fresh key and secret; returns (application, plaintext_secret)."""
    with transaction.atomic():
        app = Application(account=account, name=name, **fields)
        plaintext = app.set_new_secret()
        app.save()
    return app, plaintext
