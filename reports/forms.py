from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.models import Push
from smsconsole.tenancy import MAX_ID


class ReplySearchForm(forms.Form):
    """The replies page's filters; dates are days in the account's time zone."""

    q = forms.CharField(label=_("Number"), required=False, max_length=32)
    signature = forms.TypedChoiceField(label=_("Signature"), required=False, coerce=int, empty_value=None)
    since = forms.DateField(
        label=pgettext_lazy("date range", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=pgettext_lazy("date range", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    # From a campaign's page: the replies that campaign drew.
    campaign = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)

    def __init__(self, data, signatures):
        super().__init__(data)
        self.fields["signature"].choices = [("", _("All"))] + [(s.pk, f"【{s.name}】") for s in signatures]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data

    def time_window(self):
        """(from, to) as aware datetimes, the end exclusive (the day after `until`); None where open."""
        zone = timezone.get_current_timezone()
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        start = datetime.combine(since, time.min, zone) if since else None
        end = datetime.combine(until + timedelta(days=1), time.min, zone) if until else None
        return start, end


class PushFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *Push.Kind.choices])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *Push.Status.choices])
