from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campaigns import uploads
from campaigns.recipient_files import EXTENSIONS


class TemplateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, template):
        return f"{template.application.name} · {template.name}"


class ImportForm(forms.Form):
    """Upload a recipient file; `applications` and `templates` are the account's, scoped by the caller."""

    application = forms.ModelChoiceField(queryset=None, label=_("Application"))
    template = TemplateChoiceField(
        queryset=None,
        required=False,
        label=_("Template"),
        empty_label=_("None (numbers only)"),
        help_text=_(
            "Its variables define the columns after the number. Listed: active templates a group send can use "
            "(not verification codes)."
        ),
    )
    file = forms.FileField(
        label=_("Recipient file"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(EXTENSIONS)}),
        help_text=_("CSV, TXT (one number a line) or XLSX; CSV in UTF-8 or GBK as saved by Excel."),
    )

    def __init__(self, *args, applications, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = applications
        self.fields["template"].queryset = templates.select_related("application")
        # Choosing a template swaps in its column layout and sample-file links.
        self.fields["template"].widget.attrs.update(
            {
                "hx-get": reverse("campaigns:import_create"),
                "hx-trigger": "change",
                "hx-target": "#import-layout",
                "hx-swap": "outerHTML",
            }
        )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        uploads.check_upload(uploaded)
        return uploaded

    def clean(self):
        cleaned = super().clean()
        application, template = cleaned.get("application"), cleaned.get("template")
        if application and template and template.application_id != application.pk:
            self.add_error("template", _("This template belongs to another application."))
        return cleaned
