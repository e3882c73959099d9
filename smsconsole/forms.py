import phonenumbers
from django import forms
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from smsconsole.models import Application
from smsconsole.net import parse_ip_allowlist
from smsconsole.regions import region_choices
from smsconsole.tenancy import parse_id


def _formfield(db_field, **kwargs):
    # Callback URLs without a scheme are meant as https (Django 6's default; silences its warning).
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class IdChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField whose value must be an id as tenancy.parse_id reads one: int() takes "١٢"
    for 12, and an id beyond the column's range crashes SQLite's lookup with an OverflowError."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if parse_id(value) is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """The same for several ids (a filter of applications or templates)."""

    def _check_values(self, value):
        for pk in value:
            if parse_id(pk) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


def normalise_ip_allowlist(text):
    """The allow-list one entry a line, blank lines dropped; ValidationError naming every bad entry."""
    entries, invalid = parse_ip_allowlist(text)
    if invalid:
        raise forms.ValidationError(
            _("Not an IP address or CIDR range: %(entries)s") % {"entries": ", ".join(invalid)}, code="invalid_ip"
        )
    return "\n".join(entries)


def normalise_region(value):
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise forms.ValidationError(_("Enter a two-letter region code such as CN or HK."), code="region")
    return region


class ApplicationForm(forms.ModelForm):
    """Create or edit an application of `account`; on create, the account's quota is checked too."""

    class Meta:
        model = Application
        fields = ["name", "upstream_url", "report_url", "ip_allowlist", "default_region"]
        formfield_callback = _formfield
        widgets = {
            "ip_allowlist": forms.Textarea(attrs={"rows": 5, "placeholder": "203.0.113.7\n198.51.100.0/24"}),
        }
        help_texts = {
            "upstream_url": _("Replies (MO) from recipients are pushed here."),
            "report_url": _("Delivery reports are pushed here when a send request gives no callback of its own."),
            "default_region": _("Used for numbers written without a country code."),
        }

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["name"].widget.attrs["autofocus"] = True
        current = self.instance.default_region if self.instance.pk else "CN"
        self.fields["default_region"].widget = forms.Select(choices=region_choices(first=current))

    @property
    def creating(self):
        return self.instance.pk is None

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        siblings = Application.objects.filter(account=self.account)
        if self.creating:
            limit = settings.SMS_MAX_APPLICATIONS_PER_ACCOUNT
            if siblings.count() >= limit:
                raise forms.ValidationError(
                    _("An account can have at most %(n)s applications.") % {"n": limit}, code="quota"
                )
        else:
            siblings = siblings.exclude(pk=self.instance.pk)
        if siblings.filter(name=name).exists():
            raise forms.ValidationError(_("The account already has an application with this name."), code="unique")
        return name

    def clean_ip_allowlist(self):
        return normalise_ip_allowlist(self.cleaned_data["ip_allowlist"])

    def clean_default_region(self):
        return normalise_region(self.cleaned_data["default_region"])
