"""The sending settings form (通用设置): time zone, promotion window, quotas and frequency caps.

The caps are shown as two windows per family (a count per window, the window chosen from the
lengths the reference uses); campaigns.frequency reads and validates what is stored.
"""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns import frequency
from campaigns.models.limits import EARLIEST, LATEST, AccountLimits
from smsconsole.models import Account, timezone_choices

WINDOWS = [
    (59, _("59 seconds")),
    (60, _("1 minute")),
    (3_540, _("59 minutes")),
    (3_600, _("1 hour")),
    (86_400, _("24 hours")),
]
FAMILIES = [
    ("verification", _("Verification codes, per number")),
    ("notification", _("Notifications, per number")),
    ("promotion", _("Promotions, per number")),
    (frequency.CONTENT, _("Same number and same content")),
]
RULES_PER_FAMILY = 2
QUOTAS = ("daily_alert", "daily_limit", "monthly_alert", "monthly_limit")


class SendingSettingsForm(forms.Form):
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=(),
        help_text=_("Pages, exports, quiet hours and the days and months of the quotas follow this clock."),
    )
    promotion_start_hour = forms.TypedChoiceField(label=_("Promotions from"), coerce=int)
    promotion_end_hour = forms.TypedChoiceField(label=_("Promotions until"), coerce=int)
    daily_alert = forms.IntegerField(label=_("Daily alert threshold"), min_value=1, required=False)
    daily_limit = forms.IntegerField(label=_("Daily limit"), min_value=1, required=False)
    monthly_alert = forms.IntegerField(label=_("Monthly alert threshold"), min_value=1, required=False)
    monthly_limit = forms.IntegerField(label=_("Monthly limit"), min_value=1, required=False)
    # Personal data (campaigns.privacy): an Account field, saved like the time zone.
    message_text_days = forms.IntegerField(
        label=_("days message text is kept"),
        min_value=0,
        max_value=32767,
        help_text=_(
            "Message text is kept for this many days after a message is handed to the carrier, then deleted; "
            "0 keeps none. Numbers and counts stay."
        ),
    )

    def __init__(self, *args, account, limits, disabled=False, **kwargs):
        initial = {
            "timezone": account.timezone,
            "message_text_days": account.message_text_days,
            "promotion_start_hour": limits.promotion_start_hour,
            "promotion_end_hour": limits.promotion_end_hour,
            **{name: getattr(limits, name) for name in QUOTAS},
        }
        type_rules, content_rules = frequency.caps_from_json(limits.frequency_caps)
        stored = {**type_rules, frequency.CONTENT: content_rules}
        super().__init__(*args, initial=initial, **kwargs)
        # Area/City names and UTC: the database's aliases ("Universal", "Zulu", "PRC") read as words.
        zones = [(name, label) for name, label in timezone_choices() if "/" in name or name == "UTC"]
        if account.timezone not in {name for name, _label in zones}:
            zones.append((account.timezone, account.timezone))
        self.fields["timezone"].choices = zones
        hours = [(hour, f"{hour:02d}:00") for hour in range(EARLIEST, LATEST + 1)]
        self.fields["promotion_start_hour"].choices = hours[:-1]
        self.fields["promotion_end_hour"].choices = hours[1:]
        self.fields["promotion_start_hour"].help_text = _(
            "Promotions go out only within this window of the account's clock, at most 08:00-22:00 as the carriers "
            "require; messages outside it wait for it to open."
        )
        self.rows = []
        for family, label in FAMILIES:
            rules = list(stored[family])
            windows = dict(WINDOWS)
            for seconds, _limit in rules:
                windows.setdefault(seconds, _("%(seconds)s seconds") % {"seconds": seconds})
            cells = []
            for index in range(RULES_PER_FAMILY):
                seconds, limit = rules[index] if index < len(rules) else (None, None)
                count = forms.IntegerField(label=_("Messages"), min_value=1, required=False, initial=limit)
                window = forms.TypedChoiceField(
                    label=_("Window"),
                    choices=[("", "—"), *sorted(windows.items())],
                    coerce=int,
                    required=False,
                    empty_value=None,
                    initial=seconds,
                )
                self.fields[f"{family}_{index}_limit"] = count
                self.fields[f"{family}_{index}_seconds"] = window
                cells.append((f"{family}_{index}_limit", f"{family}_{index}_seconds"))
            self.rows.append((label, cells))
        if disabled:
            for field in self.fields.values():
                field.disabled = True

    def cap_rows(self):
        """(label, [(count field, window field), ...]) per family, bound, for the template."""
        return [(label, [(self[count], self[window]) for count, window in cells]) for label, cells in self.rows]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("promotion_start_hour"), cleaned.get("promotion_end_hour")
        if start is not None and end is not None and start >= end:
            self.add_error("promotion_end_hour", _("The window must end after it starts."))
        for period, label in (("daily", _("daily")), ("monthly", _("monthly"))):
            alert, limit = cleaned.get(f"{period}_alert"), cleaned.get(f"{period}_limit")
            if alert is not None and limit is not None and alert > limit:
                self.add_error(
                    f"{period}_alert",
                    _("The %(period)s alert threshold must not be above the %(period)s limit.") % {"period": label},
                )
        caps = {}
        for family, _label in FAMILIES:
            rules = []
            for index in range(RULES_PER_FAMILY):
                limit = cleaned.get(f"{family}_{index}_limit")
                seconds = cleaned.get(f"{family}_{index}_seconds")
                if (limit is None) != (seconds is None):
                    self.add_error(
                        f"{family}_{index}_limit", _("Give both a number of messages and a window, or neither.")
                    )
                elif limit is not None:
                    rules.append([seconds, limit])
            if len({seconds for seconds, _limit in rules}) < len(rules):
                self.add_error(f"{family}_1_seconds", _("The two windows of a rule must differ."))
            caps[family] = sorted(rules)
        cleaned["frequency_caps"] = caps
        return cleaned

    def save(self, account, limits):
        """Writes the account's time zone and its limits; returns the fields that changed as
        (before, after) dicts for the audit log."""
        data = self.cleaned_data
        fields = ["promotion_start_hour", "promotion_end_hour", *QUOTAS, "frequency_caps"]
        on_account = ["timezone", "message_text_days"]
        before = {
            **{name: getattr(account, name) for name in on_account},
            **{name: getattr(limits, name) for name in fields},
        }
        after = {**{name: data[name] for name in on_account}, **{name: data[name] for name in fields}}
        changed = [name for name in before if before[name] != after[name]]
        account_changes = {name: after[name] for name in on_account if name in changed}
        if account_changes:
            Account.objects.filter(pk=account.pk).update(**account_changes)
            for name, value in account_changes.items():
                setattr(account, name, value)
        if set(changed) - set(on_account) or limits._state.adding:
            AccountLimits.objects.update_or_create(
                account=account, defaults={name: data[name] for name in fields} | {"updated_at": timezone.now()}
            )
        return {name: before[name] for name in changed}, {name: after[name] for name in changed}
