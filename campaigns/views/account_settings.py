"""Settings → Sending settings (通用设置) and Settings → Balance: what the account allows itself
to send, and what it has paid and pays. Operators change the settings; read-only members see
them. Every query goes through smsconsole.tenancy (the request's own account)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from campaigns import money, quotas
from campaigns.models import AccountLimits, LedgerEntry, QuotaUsage
from campaigns.settings_forms import SendingSettingsForm
from smsconsole.models import audit
from smsconsole.tenancy import require_membership, scoped

LEDGER_PAGE_SIZE = 50


@login_required
def sending_settings(request):
    membership = require_membership(request)
    account = membership.account
    limits = AccountLimits.of(account.pk)
    read_only = not membership.can_edit
    if request.method == "POST":
        if read_only:
            messages.error(request, _("Read-only members cannot change anything."))
            return redirect("campaigns:sending_settings")
        form = SendingSettingsForm(request.POST, account=account, limits=limits)
        if form.is_valid():
            with transaction.atomic():
                before, after = form.save(account, limits)
                if after:
                    audit(
                        request.user, "edit", AccountLimits.of(account.pk), before=before, after=after, account=account
                    )
            messages.success(request, _("The sending settings are saved."))
            return redirect("campaigns:sending_settings")
    else:
        form = SendingSettingsForm(account=account, limits=limits, disabled=read_only)
    used = quotas.usage(account.pk)
    context = {
        "form": form,
        "read_only": read_only,
        "used_today": used[QuotaUsage.Period.DAY],
        "used_this_month": used[QuotaUsage.Period.MONTH],
    }
    return render(request, "campaigns/sending_settings.html", context)


def price_table():
    """Rows of (category label, [(from, to, price), ...]) from the monthly tiers in settings."""
    labels = {"industry": _("Verification codes and notifications"), "promotion": _("Promotions")}
    rows = []
    for category, tiers in settings.SMS_PRICES.items():
        bands, low = [], 0
        for ceiling, price in tiers:
            bands.append((low + 1, ceiling, price))
            low = ceiling or low
        rows.append((category, labels.get(category, category), bands))
    return rows


@login_required
def balance(request):
    membership = require_membership(request)
    account = membership.account
    entries = scoped(request, LedgerEntry).select_related("created_by", "campaign")
    page = Paginator(entries, LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    volumes = {category: money.month_volume(account.pk, category) for category in settings.SMS_PRICES}
    context = {
        "balance": money.balance(account),
        "page": page,
        "prices": [(label, bands, volumes[category]) for category, label, bands in price_table()],
    }
    return render(request, "campaigns/balance.html", context)
