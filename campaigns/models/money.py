"""Money: an account's balance as a ledger, and what each segment costs.

Every move of a balance is a LedgerEntry (a top-up or correction by staff, a charge for segments
handed to the provider, a refund of failed ones) and Account.balance is their sum, moved in the
same transaction by campaigns.money — never assigned anywhere else.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smsconsole.models import Account

MONEY = {"max_digits": 16, "decimal_places": 4}


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        TOP_UP = "top_up", _("Top-up")  # money paid in, recorded by staff
        CORRECTION = "correction", _("Correction")  # staff's adjustment, either sign, with its reason
        CHARGE = "charge", _("Charge")  # segments handed to the provider (negative)
        REFUND = "refund", _("Refund")  # charged segments that failed, as the refund policy says (positive)

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="ledger", verbose_name=_("account"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    amount = models.DecimalField(_("amount"), **MONEY)  # positive adds to the balance, negative takes from it
    balance_after = models.DecimalField(_("balance after"), **MONEY)
    # For charges and refunds: what was paid for.
    category = models.CharField(_("price category"), max_length=16, blank=True)
    segments = models.BigIntegerField(_("segments"), default=0)
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=Decimal(0)), name="ledger_entry_moves_money"),
            models.CheckConstraint(
                condition=~models.Q(kind="correction") | ~models.Q(note=""), name="ledger_correction_has_reason"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"


class MonthlyVolume(models.Model):
    """Segments charged in one (local) month and price category, net of refunds: the tier the next
    charge falls in. campaigns.money._move_segments adds each charge and refund here in the
    transaction that writes its ledger entry, after the account's row is locked, and prices the
    entry from it, so it equals the sum of the month's entries (except that a refund of an earlier
    month's charge stops it at zero); reading it is one row where summing the ledger grew with the
    month's charges (one entry per chunk of a campaign)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=16)
    month = models.DateField()  # the first day of the month, in settings.TIME_ZONE as money.month_start
    segments = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "category", "month"], name="monthly_volume_once"),
        ]
