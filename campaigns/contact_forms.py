import os
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campaigns import import_reasons
from campaigns.contacts_import import MAX_BYTES, reason_label
from campaigns.models import Contact, ContactList, OptOut
from campaigns.numbers import normalise_number
from campaigns.recipient_files import EXTENSIONS
from sms import optout
from smsconsole.regions import region_choices
from smsconsole.upload_limits import too_large

MAX_FIELDS = 20
FIELD_NAME_MAX_LENGTH = 32
_FIELD_SEPARATORS = re.compile(r"[,，、;；]")


class ContactListForm(forms.ModelForm):
    """Name a contact list and its custom fields; `account` is the request's account."""

    field_names_text = forms.CharField(
        label=_("Custom fields"),
        required=False,
        help_text=_(
            "Comma-separated names of extra columns, e.g. “city, order number”. Their order is the "
            "column order of imported files after the number and the name."
        ),
    )

    class Meta:
        model = ContactList
        fields = ["name"]

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        if self.instance.pk and not self.is_bound:
            self.initial["field_names_text"] = ", ".join(self.instance.field_names)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = ContactList.objects.filter(account=self.account, name=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(
                _("Your account already has a contact list named “%(name)s”."), code="unique", params={"name": name}
            )
        return name

    def clean_field_names_text(self):
        names = [name.strip() for name in _FIELD_SEPARATORS.split(self.cleaned_data["field_names_text"])]
        names = [name for name in names if name]
        seen = set()
        for name in names:
            if name.lower() in seen:
                raise ValidationError(
                    _("The field “%(name)s” is named twice."), code="duplicate", params={"name": name}
                )
            seen.add(name.lower())
            if len(name) > FIELD_NAME_MAX_LENGTH:
                raise ValidationError(
                    _("Field names have at most %(limit)s characters: “%(name)s”."),
                    code="too_long",
                    params={"limit": FIELD_NAME_MAX_LENGTH, "name": name},
                )
        if len(names) > MAX_FIELDS:
            raise ValidationError(_("At most %(limit)s custom fields."), code="too_many", params={"limit": MAX_FIELDS})
        return names

    def save(self, commit=True):
        self.instance.account = self.account
        self.instance.field_names = self.cleaned_data["field_names_text"]
        return super().save(commit=commit)


def _normalised_or_error(form, region):
    """Normalises the form's phone in place; adds the reason to the phone field when it is unusable."""
    raw = form.cleaned_data.get("phone")
    if raw is None:
        return None
    phone, error = normalise_number(raw, region)
    if error:
        form.add_error("phone", ValidationError(reason_label(error), code=error))
        return None
    form.cleaned_data["phone"] = phone
    return phone


class ContactForm(forms.Form):
    """A contact of `contact_list`; `instance` is the contact being edited, if any."""

    phone = forms.CharField(label=_("Number"), max_length=32)
    region = forms.ChoiceField(label=_("Region"), help_text=_("Used for numbers written without a country code."))
    name = forms.CharField(label=_("Name"), max_length=Contact._meta.get_field("name").max_length, required=False)

    def __init__(self, *args, contact_list, region, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact_list, self.instance = contact_list, instance
        self.fields["region"].choices = region_choices(first=region)
        self.fields["region"].initial = region
        self.custom = []
        for index, field_name in enumerate(contact_list.field_names):
            key = f"field_{index}"
            self.fields[key] = forms.CharField(label=field_name, required=False, max_length=200)
            self.custom.append((key, field_name))
        if instance is not None and not self.is_bound:
            self.initial.update(phone=instance.phone, name=instance.name)
            for key, field_name in self.custom:
                self.initial[key] = instance.fields.get(field_name, "")

    def clean(self):
        cleaned = super().clean()
        phone = _normalised_or_error(self, cleaned.get("region") or "CN")
        if phone:
            taken = Contact.objects.filter(contact_list=self.contact_list, phone=phone)
            if self.instance is not None:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error(
                    "phone",
                    ValidationError(_("%(phone)s is already in this list."), code="unique", params={"phone": phone}),
                )
        return cleaned

    def save(self):
        contact = self.instance or Contact(contact_list=self.contact_list)
        contact.phone = self.cleaned_data["phone"]
        contact.name = self.cleaned_data["name"].strip()
        # Values of fields no longer on the list are kept, so renaming a field back restores them.
        fields = dict(contact.fields or {})
        for key, field_name in self.custom:
            value = self.cleaned_data[key].strip()
            if value:
                fields[field_name] = value
            else:
                fields.pop(field_name, None)
        contact.fields = fields
        if contact.pk:
            contact.save(update_fields=["phone", "name", "fields"])
        else:
            contact.save()
        from campaigns.privacy import restore_suppressed

        restore_suppressed(self.contact_list.account_id, [contact.phone])
        return contact


class OptOutForm(forms.ModelForm):
    """Add one number to `account`'s opt-out list."""

    phone = forms.CharField(label=_("Number"), max_length=32)
    region = forms.ChoiceField(label=_("Region"), help_text=_("Used for numbers written without a country code."))

    class Meta:
        model = OptOut
        fields = ["phone", "note"]

    def __init__(self, *args, account, region, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["region"].choices = region_choices(first=region)
        self.fields["region"].initial = region
        self.order_fields(["phone", "region", "note"])

    def clean(self):
        cleaned = super().clean()
        phone = _normalised_or_error(self, cleaned.get("region") or "CN")
        if phone and OptOut.objects.filter(account=self.account, phone=phone).exists():
            self.add_error(
                "phone",
                ValidationError(_("%(phone)s is already on the opt-out list."), code="unique", params={"phone": phone}),
            )
        return cleaned

    def _post_clean(self):
        # The account is set before the model's own validation, which checks (account, phone).
        self.instance.account = self.account
        self.instance.source = OptOut.Source.MANUAL
        super()._post_clean()


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV, TXT or XLSX, at most 50,000 rows."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(EXTENSIONS)}),
    )
    region = forms.ChoiceField(label=_("Region"), help_text=_("Used for numbers written without a country code."))

    def __init__(self, *args, region, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = region_choices(first=region)
        self.fields["region"].initial = region

    def clean_file(self):
        upload = self.cleaned_data["file"]
        ext = os.path.splitext(upload.name or "")[1].lower()
        if ext not in EXTENSIONS:
            raise ValidationError(
                import_reasons.failure_message(
                    "extension", {"extension": ext or "-", "allowed": ", ".join(EXTENSIONS)}
                ),
                code="extension",
            )
        if too_large(upload, MAX_BYTES):
            raise ValidationError(
                _("The file is larger than %(limit)s MB."),
                code="too_large",
                params={"limit": MAX_BYTES // (1024 * 1024)},
            )
        if upload.size == 0:
            raise ValidationError(_("The file is empty."), code="empty")
        return upload


class OptOutKeywordsForm(forms.Form):
    """The account's opt-out keywords (sms.optout), typed as a list; empty restores the defaults."""

    MAX_KEYWORDS = 30
    MAX_LENGTH = 20

    keywords = forms.CharField(
        label=_("Opt-out keywords"),
        required=False,
        max_length=700,
        widget=forms.TextInput(attrs={"size": 60}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Formatted per request, in the reader's language.
        self.fields["keywords"].help_text = _(
            "Separated by commas. A reply that is one of them, ignoring case and surrounding spaces, puts "
            "the number on the opt-out list. Empty: the defaults (%(defaults)s)."
        ) % {"defaults": ", ".join(optout.DEFAULT_KEYWORDS)}

    def clean_keywords(self):
        keywords = optout.parse_keywords(self.cleaned_data["keywords"])
        if len(keywords) > self.MAX_KEYWORDS:
            raise ValidationError(_("At most %(limit)s keywords."), params={"limit": self.MAX_KEYWORDS})
        too_long = [k for k in keywords if len(k) > self.MAX_LENGTH]
        if too_long:
            raise ValidationError(
                _("A keyword is at most %(limit)s characters long: %(keyword)s"),
                params={"limit": self.MAX_LENGTH, "keyword": too_long[0]},
            )
        return keywords
