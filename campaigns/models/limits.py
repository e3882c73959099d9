"""What an account allows itself to send (通用设置, cloud-sms-spec.md 4.1-4.2): the promotion
window, daily and monthly quotas, frequency caps; and how much of each quota a period has used.

The rules that read these live in one module each: campaigns.quiet_hours (the window),
campaigns.quotas (the totals), campaigns.frequency (the caps). An account without a row follows
the defaults (AccountLimits.of).
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns import frequency, quiet_hours
from smsconsole.models import Account

EARLIEST, LATEST = quiet_hours.PROMOTION_HOURS
_HOURS = [MinValueValidator(EARLIEST), MaxValueValidator(LATEST)]


def _default_caps():
    return frequency.default_caps()


def _validate_caps(value):
    try:
        frequency.caps_from_json(value)
    except ValueError as problem:
        raise ValidationError(str(problem)) from problem


class AccountLimits(models.Model):
    account = models.OneToOneField(
        Account, primary_key=True, on_delete=models.CASCADE, related_name="limits", verbose_name=_("account")
    )
    # Promotions only within these hours of the account's clock; an account may narrow the
    # carriers' 08:00-22:00, never widen it (the constraint below).
    promotion_start_hour = models.PositiveSmallIntegerField(
        _("promotions from"),
        default=EARLIEST,
        validators=_HOURS,
    )
    promotion_end_hour = models.PositiveSmallIntegerField(
        _("promotions until"),
        default=LATEST,
        validators=_HOURS,
    )
    # Messages per day and per month of the account's clock; empty means no alert or no limit.
    # Crossing an alert tells the notification contacts once per period; the limit stops sending.
    daily_alert = models.PositiveIntegerField(_("daily alert threshold"), null=True, blank=True)
    daily_limit = models.PositiveIntegerField(_("daily limit"), null=True, blank=True)
    monthly_alert = models.PositiveIntegerField(_("monthly alert threshold"), null=True, blank=True)
    monthly_limit = models.PositiveIntegerField(_("monthly limit"), null=True, blank=True)
    # campaigns.frequency's JSON form: {"verification": [[seconds, limit], ...], ..., "content": [...]}.
    frequency_caps = models.JSONField(_("frequency caps"), default=_default_caps, validators=[_validate_caps])
    updated_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("sending limits")
        verbose_name_plural = _("sending limits")
        constraints = [
            models.CheckConstraint(
                condition=Q(promotion_start_hour__gte=EARLIEST)
                & Q(promotion_end_hour__lte=LATEST)
                & Q(promotion_start_hour__lt=F("promotion_end_hour")),
                name="limits_promotion_window_within_carrier_hours",
            ),
            models.CheckConstraint(
                condition=Q(daily_alert__isnull=True)
                | Q(daily_limit__isnull=True)
                | Q(daily_alert__lte=F("daily_limit")),
                name="limits_daily_alert_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(monthly_alert__isnull=True)
                | Q(monthly_limit__isnull=True)
                | Q(monthly_alert__lte=F("monthly_limit")),
                name="limits_monthly_alert_within_limit",
            ),
        ]

    def __str__(self):
        return str(self.account)

    @classmethod
    def of(cls, account_id, account=None):
        """The account's limits, or the defaults (unsaved) for an account that never set any.
        `account`: the Account, read with select_related("limits") to save the query (the gateway's
        claim reads them with its campaign for every chunk)."""
        if account is not None:
            try:
                return account.limits
            except cls.DoesNotExist:
                return cls(account_id=account_id)
        return cls.objects.filter(pk=account_id).first() or cls(account_id=account_id)

    @property
    def promotion_hours(self):
        return (self.promotion_start_hour, self.promotion_end_hour)

    def quota(self, period):
        """(alert, limit) for QuotaUsage.Period `period`."""
        if period == QuotaUsage.Period.DAY:
            return self.daily_alert, self.daily_limit
        return self.monthly_alert, self.monthly_limit


class QuotaUsage(models.Model):
    """Messages an account reserved in one day or month of its clock; locked row by row by
    campaigns.quotas, the only writer."""

    class Period(models.TextChoices):
        DAY = "day", _("Day")  # starts_on is the day
        MONTH = "month", _("Month")  # starts_on is the first of the month

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="quota_usage")
    period = models.CharField(max_length=8, choices=Period)
    starts_on = models.DateField()
    used = models.PositiveBigIntegerField(default=0)
    # Set once, in the reservation that crossed the threshold or reached the limit; the mail task
    # claims *_mailed_at so a redelivered task mails nobody twice.
    alerted_at = models.DateTimeField(null=True, blank=True)
    alert_mailed_at = models.DateTimeField(null=True, blank=True)
    limited_at = models.DateTimeField(null=True, blank=True)
    limit_mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One row per account and period: reserve() locks it with select_for_update.
            models.UniqueConstraint(fields=["account", "period", "starts_on"], name="quota_usage_one_per_period"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.period} {self.starts_on}: {self.used}"
