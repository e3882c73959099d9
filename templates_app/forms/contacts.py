import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from templates_app.models import NotificationContact


class NotificationContactForm(forms.ModelForm):
    """The instance must already carry its account, so a new contact can be checked against the quota."""

    class Meta:
        model = NotificationContact
        fields = [
            "name",
            "phone",
            "email",
            "notify_signature",
            "notify_template",
            "notify_traffic",
            "notify_qualification",
            "notify_by_sms",
        ]
        help_texts = {
            "phone": _("A mainland number may be entered without +86."),
            "notify_by_sms": _("The notices this contact receives also come as an SMS to the phone above."),
        }

    def clean_phone(self):
        raw = self.cleaned_data["phone"].strip()
        if not raw:
            return ""
        try:
            number = phonenumbers.parse(raw, "CN")
        except phonenumbers.NumberParseException:
            raise ValidationError(_("Enter a valid phone number."), code="invalid") from None
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(_("Enter a valid phone number."), code="invalid")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("notify_by_sms") and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Enter the phone number the SMS notices go to."))
        if self.instance.pk is None:
            try:
                NotificationContact.check_quota(self.instance.account)
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned
