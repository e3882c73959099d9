import os

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from templates_app.models import DOCUMENT_EXTENSIONS, Qualification


class DocumentInput(forms.ClearableFileInput):
    """Links the current file through the documents view: media has no public URL."""

    template_name = "templates_app/qualification_document_input.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if context["widget"]["is_initial"]:
            context["widget"]["filename"] = os.path.basename(value.name)
        return context


class QualificationForm(forms.ModelForm):
    """Create or correct a qualification; the instance must already carry its account."""

    class Meta:
        model = Qualification
        fields = [
            "name",
            "company_name",
            "credit_code",
            "purpose",
            "legal_representative",
            "handler_name",
            *Qualification.DOCUMENT_FIELDS,
        ]
        widgets = {field: DocumentInput for field in Qualification.DOCUMENT_FIELDS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        megabytes = settings.SMS_DOCUMENT_MAX_BYTES // (1024 * 1024)
        document_help = _(
            "JPG, PNG, GIF or PDF, at most %(mb)s MB; file name at most 64 characters, "
            "without spaces or \" # ' $ %% & * / | < > { } [ ] ; ? !"
        ) % {"mb": megabytes}
        accept = ",".join(sorted(DOCUMENT_EXTENSIONS))
        for name in Qualification.DOCUMENT_FIELDS:
            self.fields[name].help_text = document_help
            self.fields[name].widget.attrs["accept"] = accept
        self.fields["authorisation_letter"].help_text = _(
            "Required for third-party use: valid for at least 6 months, stamped by the signature owner and "
            "signed by its legal representative. %(rules)s"
        ) % {"rules": document_help}

    def clean_name(self):
        name = self.cleaned_data["name"]
        taken = Qualification.objects.filter(account_id=self.instance.account_id, name=name)
        if taken.exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("You already have a qualification with this name."), code="unique")
        return name
