"""Forms for message templates: the application form with per-variable rows, the list filters, and
the translation of rules.py problem codes into messages."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from sms import text
from smsconsole.models import Application
from smsconsole.tenancy import parse_id
from templates_app import rules
from templates_app.models import MessageType, Signature, Template, TemplateVariable

# One message per rules.PROBLEM_CODES entry; the placeholders are that problem's params.
PROBLEM_MESSAGES = {
    "empty": _("Enter the template content."),
    "too_long": _("The text is %(length)s characters long with the signature; the limit is %(limit)s."),
    "too_many_variables": _("The content has %(count)s variables; a template can have at most %(limit)s."),
    "malformed_variable": _(
        "“%(text)s” is not a valid variable: write ${1} to ${20}, or ${PHONE}, ${CHARDIGIT}, ${DATETIME}, "
        "${MONEY} or ${TEXT}."
    ),
    "adjacent_variables": _("Separate the variables in “%(text)s” with text; spaces do not count."),
    "only_variables": _("The content cannot consist of variables only."),
    "brackets": _("Remove %(characters)s from the content: brackets are reserved for the signature."),
    "banned_symbol": _("Remove %(symbols)s from the content: these symbols may arrive garbled."),
    "signature_in_text": _("Do not write the signature 【%(signature)s】 in the content; it is added automatically."),
    "partial_variable_in_link": _(
        "Variable %(position)s is glued into “%(text)s”: "
        "links and numbers must be fixed text, not built from variables."
    ),
    "verification_variable_count": _("A verification template has exactly one variable; this one has %(count)s."),
    "verification_variable_too_long": _(
        "A verification code is at most %(limit)s characters long; variable %(position)s allows %(length)s."
    ),
    "verification_keyword": _(
        "A verification template must contain 验证码, 注册码, 校验码 or 动态码 (“code” for English text)."
    ),
    "verification_link": _("A verification template cannot contain links."),
    "promotion_opt_out": _("A promotion must say how to opt out, for example “拒收请回复R”."),
    "variable_length": _(
        "Variable %(position)s is a %(attribute)s: its maximum length must be 1 to %(limit)s, not %(length)s."
    ),
    "short_link": _(
        "“%(link)s” is a short link: write the full address of the page itself; templates cannot use short links."
    ),
    "redirect_link": _(
        "“%(link)s” forwards to another address: "
        "write the final address itself; templates cannot use redirecting links."
    ),
}
# Problems about one variable's length are shown on that variable's row, the rest on the content.
VARIABLE_ROW_PROBLEMS = {"variable_length", "verification_variable_too_long"}


def problem_message(problem):
    params = dict(problem.params)
    if "attribute" in params:
        params["attribute"] = TemplateVariable.Attribute(params["attribute"]).label
    return PROBLEM_MESSAGES[problem.code] % params


def variable_field_name(position, part):
    return f"var-{position}-{part}"


def default_max_length(attribute, template_type):
    limit = rules.ATTRIBUTE_MAX_LENGTH[rules.Attribute(attribute)]
    if template_type == MessageType.VERIFICATION:
        # A default the rules would refuse is no help: codes are at most 8 characters.
        return min(limit, rules.MAX_VERIFICATION_VARIABLE_LENGTH)
    return limit


ATTRIBUTE_VALUES = frozenset(a.value for a in rules.Attribute)
# The longest maximum any attribute allows; the rules report anything above its own limit.
LONGEST_VARIABLE = max(rules.ATTRIBUTE_MAX_LENGTH.values())


def parse_length(raw):
    """A typed maximum length as an int, or None: ASCII digits only, at most nine of them, so a
    value like "²" or a thousand nines is unusable rather than a crash."""
    if raw is None:
        return None
    raw = str(raw).strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        return None
    return int(raw)


def read_variable_settings(data, found, template_type, existing=None):
    """(attribute, max_length, description) per found variable, read leniently from posted data.

    A value that is missing or unusable falls back to the stored row of that position (when its
    label did not change) or to the label's default, so a preview never fails on half-typed input.
    """
    existing = existing or {}
    settings = []
    for v in found:
        stored = existing.get(v.index)
        posted_label = data.get(variable_field_name(v.index, "label")) if data is not None else None
        # A position whose label changed is a different variable: start again from its default.
        fresh = posted_label is not None and posted_label != v.label
        attribute = None if fresh or data is None else data.get(variable_field_name(v.index, "attribute"))
        if attribute not in ATTRIBUTE_VALUES:
            attribute = stored.attribute if stored and not fresh else rules.default_attribute(v.label).value
        raw_length = None if fresh or data is None else data.get(variable_field_name(v.index, "max_length"))
        max_length = parse_length(raw_length)
        if max_length is None:
            max_length = stored.max_length if stored and not fresh else default_max_length(attribute, template_type)
        description = "" if fresh or data is None else data.get(variable_field_name(v.index, "description"), None)
        if description is None:
            description = stored.description if stored else ""
        settings.append((attribute, max_length, description))
    return settings


class SignatureChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj} · {obj.get_type_display()} · {obj.application.name} · {obj.get_status_display()}"


class TemplateForm(forms.ModelForm):
    """The template application form; variable rows are built from the content being submitted."""

    PREVIEW_TRIGGER = (
        "input changed delay:300ms, change from:#id_signature, change from:#id_type, "
        "change from:#id_universal, change from:#template-variables"
    )

    signature = SignatureChoiceField(queryset=Signature.objects.none(), required=False, label=_("Signature"))

    class Meta:
        model = Template
        fields = ["application", "signature", "name", "type", "universal", "content", "description"]
        widgets = {
            "name": forms.TextInput(attrs={"maxlength": 30}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "name": _("At most 30 characters, for example “order_notice_01”."),
            "content": _(
                "Variables: ${1} … ${20}, or ${PHONE}, ${CHARDIGIT}, ${DATETIME}, ${MONEY}, ${TEXT}. "
                "The signature is added automatically."
            ),
            "description": _("Why the template is needed; justify variables longer than usual here."),
        }

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        applications = Application.objects.filter(account=account).order_by("name")
        self.fields["application"].queryset = applications
        # With one application there is nothing to choose; with several, none is chosen for the
        # operator, and the signatures follow the one chosen.
        self.fields["application"].empty_label = None if applications.count() == 1 else "---------"
        self.current_application = self._chosen_application(applications)
        if self.current_application is not None and not self.is_bound:
            self.initial["application"] = self.current_application.pk
        self.fields["signature"].queryset = (
            Signature.objects.filter(application=self.current_application)
            .exclude(status=Signature.Status.REJECTED)
            .select_related("application")
            .order_by("name", "type")
            if self.current_application
            else Signature.objects.none()
        )
        if self.current_application is None:
            self.fields["signature"].help_text = _("Choose the application first: its signatures are listed here.")
        self.fields["application"].widget.attrs.update(
            {
                "hx-get": reverse_lazy("templates_app:template_signature_options"),
                "hx-trigger": "change",
                "hx-target": "#field-signature",
                "hx-swap": "outerHTML",
                "hx-include": "closest form",
            }
        )
        if self.instance.pk:
            # Template IDs live inside an application; moving one is applying for a new one.
            self.fields["application"].disabled = True
        self.fields["content"].widget.attrs.update(
            {
                "hx-post": reverse_lazy("templates_app:template_preview"),
                "hx-trigger": self.PREVIEW_TRIGGER,
                "hx-include": "closest form",
                "hx-target": "#template-preview",
                "hx-sync": "closest form:replace",
            }
        )

        self.template_type = self.raw_value("type") or ""
        self.found_variables = text.find_variables(self.raw_value("content") or "")
        existing = {v.position: v for v in self.instance.variables.all()} if self.instance.pk else {}
        self.variable_settings = read_variable_settings(
            self.data if self.is_bound else None, self.found_variables, self.template_type, existing
        )
        if self.is_bound:
            # Rows for variables typed since the last render have no posted values yet: give them
            # their defaults, so the form (and the rows rendered from it) use them.
            self.data = self.data.copy()
        for v, (attribute, max_length, description) in zip(self.found_variables, self.variable_settings):
            self._add_variable_fields(v, attribute, max_length, description)

    def _chosen_application(self, applications):
        if self.instance.pk:
            return self.instance.application
        raw = self.raw_value("application")
        pk = parse_id(getattr(raw, "pk", raw))
        if pk is None and applications.count() == 1:
            return applications.first()
        return applications.filter(pk=pk).first() if pk is not None else None

    def raw_value(self, name):
        """A field's value before cleaning: posted, else initial, else the instance's."""
        if self.is_bound:
            return self.data.get(name)
        if name in self.initial:
            return self.initial[name]
        return getattr(self.instance, name, None)

    def _add_variable_fields(self, variable, attribute, max_length, description):
        names = {
            part: variable_field_name(variable.index, part)
            for part in ("label", "attribute", "max_length", "description")
        }
        self.fields[names["label"]] = forms.CharField(widget=forms.HiddenInput, required=False, initial=variable.label)
        self.fields[names["attribute"]] = forms.ChoiceField(
            label=_("Attribute"),
            choices=TemplateVariable.Attribute.choices,
            initial=attribute,
        )
        self.fields[names["max_length"]] = forms.IntegerField(
            label=_("Maximum length"),
            initial=max_length,
            min_value=1,
            max_value=LONGEST_VARIABLE,
            widget=forms.NumberInput(attrs={"min": 1, "max": LONGEST_VARIABLE}),
        )
        self.fields[names["description"]] = forms.CharField(
            label=_("Description"), max_length=100, required=False, initial=description
        )
        if self.is_bound:
            values = {"attribute": attribute, "max_length": str(max_length), "description": description}
            posted_label = self.data.get(names["label"])
            relabelled = posted_label is not None and posted_label != variable.label
            for part, value in values.items():
                if relabelled or names[part] not in self.data:
                    self.data[names[part]] = value
            self.data[names["label"]] = variable.label

    def variable_rows(self):
        """For the template: each found variable with its bound fields and row errors."""
        rows = []
        for v in self.found_variables:
            rows.append(
                {
                    "variable": v,
                    "text": f"${{{v.label}}}",
                    "label_field": self[variable_field_name(v.index, "label")],
                    "attribute": self[variable_field_name(v.index, "attribute")],
                    "max_length": self[variable_field_name(v.index, "max_length")],
                    "description": self[variable_field_name(v.index, "description")],
                }
            )
        return rows

    def clean(self):
        cleaned = super().clean()
        application = cleaned.get("application")
        signature = cleaned.get("signature")
        template_type = cleaned.get("type")
        if cleaned.get("universal"):
            # A universal template takes its signature at send time.
            cleaned["signature"] = signature = None
        elif "signature" not in self.errors:
            if signature is None:
                self.add_error("signature", _("Choose a signature, or make the template universal."))
            elif application is not None and signature.application_id != application.pk:
                self.add_error("signature", _("Choose a signature of the template's application."))
            elif template_type and signature.type != template_type:
                self.add_error("signature", _("The signature must be of the same type as the template."))

        if not self.instance.pk and application is not None:
            try:
                Template.check_quota(application)
            except ValidationError as error:
                self.add_error("application", error)

        content = cleaned.get("content")
        if content is not None and template_type:
            settings = [(a, n) for a, n, _d in self.variable_settings]
            for problem in rules.validate_template(
                content, template_type, settings, signature.name if signature else None
            ):
                field = "content"
                if problem.code in VARIABLE_ROW_PROBLEMS:
                    field = variable_field_name(problem.params["position"], "max_length")
                # A field that failed its own bounds already says what is wrong with it.
                if field not in self.errors:
                    self.add_error(field, problem_message(problem))
                elif field == "content" and problem_message(problem) not in self.errors[field]:
                    self.add_error(field, problem_message(problem))
        return cleaned

    def variable_rows_data(self):
        return [
            (
                v.index,
                self.cleaned_data[variable_field_name(v.index, "attribute")],
                self.cleaned_data[variable_field_name(v.index, "max_length")],
                self.cleaned_data[variable_field_name(v.index, "description")],
            )
            for v in self.found_variables
        ]

    def save(self, commit=True):
        """Writes the template and its variable rows in one transaction; the form must be valid."""
        if not commit:
            raise ValueError("a template is saved together with its variables, so commit must be True")
        template = self.instance
        with transaction.atomic():
            if template.pk:
                # The state may have moved since the form was shown (a submit in another tab).
                current = Template.objects.select_for_update().get(pk=template.pk)
                if not current.can_edit:
                    raise ValidationError(_("This template can no longer be edited."))
                template.save(update_fields=[f for f in self._meta.fields if f != "application"])
                template.variables.all().delete()
            else:
                template.save()
            TemplateVariable.objects.bulk_create(
                [
                    TemplateVariable(
                        template=template,
                        position=position,
                        attribute=attribute,
                        max_length=max_length,
                        description=description,
                    )
                    for position, attribute, max_length, description in self.variable_rows_data()
                ]
            )
        return template


class TemplateFilterForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False)
    type = forms.ChoiceField(label=_("Type"), required=False, choices=[("", _("All types")), *MessageType.choices])
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *Template.Status.choices]
    )
    created_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(label=_("Created to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data["name"]:
            queryset = queryset.filter(name__icontains=data["name"])
        if data["type"]:
            queryset = queryset.filter(type=data["type"])
        if data["status"]:
            queryset = queryset.filter(status=data["status"])
        if data["created_from"]:
            queryset = queryset.filter(created_at__date__gte=data["created_from"])
        if data["created_to"]:
            queryset = queryset.filter(created_at__date__lte=data["created_to"])
        return queryset
