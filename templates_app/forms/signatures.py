from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from templates_app.models import MessageType, Signature, validate_signature_name


class SignatureForm(forms.ModelForm):
    """Apply for a signature or correct a rejected one.

    `applications` and `qualifications` are the account's own, already scoped by the caller.
    """

    class Meta:
        model = Signature
        fields = ["application", "name", "type", "source", "qualification", "description"]
        help_texts = {
            "name": _("Only the name: the brackets 【】 are added when sending. Chinese characters, letters and digits."),
            "qualification": _("Approved or in-review qualifications of your account."),
        }

    def __init__(self, *args, applications, qualifications, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = applications
        self.fields["qualification"].queryset = qualifications.exclude(status="rejected")
        if self.instance.pk:
            # Moving a signature to another application would bypass that application's quota.
            self.fields["application"].disabled = True

    def clean_name(self):
        name = self.cleaned_data["name"]
        validate_signature_name(name)
        return name

    def clean(self):
        cleaned = super().clean()
        application = cleaned.get("application")
        if application is None:
            return cleaned
        if self.instance.pk is None:
            try:
                Signature.check_quota(application)
            except ValidationError as error:
                self.add_error("application", error)
        name, type_ = cleaned.get("name"), cleaned.get("type")
        if name and type_:
            taken = Signature.objects.filter(application=application, name=name, type=type_)
            if taken.exclude(pk=self.instance.pk).exists():
                self.add_error(
                    "name",
                    ValidationError(
                        _("This application already has the signature 【%(name)s】 of this type."),
                        code="unique",
                        params={"name": name},
                    ),
                )
        return cleaned


class SignatureFilterForm(forms.Form):
    application = forms.ModelChoiceField(queryset=None, required=False, label=_("Application"), empty_label=_("All"))
    type = forms.ChoiceField(label=_("Type"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, applications, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = applications
        self.fields["type"].choices = [("", _("All")), *MessageType.choices]
        self.fields["status"].choices = [("", _("All")), *Signature.Status.choices]

    def apply(self, signatures):
        """Narrows `signatures` by the valid filters; invalid ones are ignored."""
        if not self.is_valid():
            return signatures
        if self.cleaned_data["application"]:
            signatures = signatures.filter(application=self.cleaned_data["application"])
        if self.cleaned_data["type"]:
            signatures = signatures.filter(type=self.cleaned_data["type"])
        if self.cleaned_data["status"]:
            signatures = signatures.filter(status=self.cleaned_data["status"])
        return signatures
