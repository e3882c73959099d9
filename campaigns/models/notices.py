"""The notices the platform told an account's notification contacts (campaigns.notices).

One row per (account, kind, key): the key names the occasion (a review decision, a quota
period, a day of low balance), so a notice goes out once however often its task runs or the
occasion recurs within the period; the row keeps the hidden campaign that carried its SMS.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smsconsole.models import Account


class Notice(models.Model):
    class Kind(models.TextChoices):
        REVIEW = "review", _("Review result")
        QUOTA_ALERT = "quota_alert", _("Quota alert threshold reached")
        QUOTA_LIMIT = "quota_limit", _("Quota limit reached")
        BALANCE_LOW = "balance_low", _("Balance low")
        BALANCE_INSUFFICIENT = "balance_insufficient", _("Balance insufficient")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notices", verbose_name=_("account"))
    kind = models.CharField(_("kind"), max_length=24, choices=Kind)
    key = models.CharField(max_length=100)
    text = models.CharField(_("text"), max_length=500, blank=True)
    # The system account's campaign that sent it by SMS (none when no contact takes SMS).
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipients = models.PositiveIntegerField(_("numbers told by SMS"), default=0)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["account", "kind", "key"], name="notice_once_per_occasion")]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.key})"
