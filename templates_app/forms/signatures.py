from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from templates_app.models import MessageType, Qualification, Signature, validate_signature_name


class SignatureForm(forms.ModelForm):
    """Apply for a signature or correct a rejected one.

    A signature the carrier refused keeps the name, type and application its content review
    approved: only the materials the carrier judged (qualification, source, notes) change, and the
    carrier files approved qualifications only. `applications` and `qualifications` are the
    account's own, already scoped by the caller.
    """

    class Meta:
        model = Signature
        fields = ["application", "name", "type", "source", "qualification", "description"]
        help_texts = {
            "name": _(
                "Only the name: the brackets 【】 are added when sending. Chinese characters, letters and digits."
            ),
            "qualification": _("Approved or in-review qualifications of your account."),
        }

    def __init__(self, *args, applications, qualifications, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = applications
        self.fields["qualification"].queryset = qualifications.exclude(status=Qualification.Status.REJECTED)
        self.fields["qualification"].required = True
        if self.instance.pk:
            # Moving a signature to another application would bypass that application's quota.
            self.fields["application"].disabled = True
        if self.for_the_carrier:
            self.fields["name"].disabled = self.fields["type"].disabled = True
            self.fields["qualification"].queryset = qualifications.filter(status=Qualification.Status.APPROVED)
            self.fields["qualification"].help_text = _(
                "Approved qualifications of your account: the carrier files only those."
            )

    @property
    def for_the_carrier(self):
        """Correcting what the carrier refused (the signature goes back to the carrier, not to review)."""
        return self.instance.pk is not None and self.instance.status == Signature.Status.FILING_FAILED

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


class AttachQualificationForm(forms.Form):
    """Back-filling a legacy signature: the qualification of its owner, approved or in review."""

    qualification = forms.ModelChoiceField(
        queryset=None,
        label=_("Qualification"),
        help_text=_(
            "An approved qualification is filed with the carrier at once; one in review is filed once approved."
        ),
    )

    def __init__(self, *args, qualifications, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["qualification"].queryset = qualifications.exclude(status=Qualification.Status.REJECTED)
