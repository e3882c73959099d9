"""The campaign form (群发任务): application → signature → template, mode and shared variables,
audience, time and provider connection.

Every queryset comes from the caller, already scoped to the request's account; the form only
narrows them. Unbound forms read the cascade from `initial`, so the htmx option endpoints render
the dependent selects from the values chosen so far.
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from campaigns import quiet_hours
from campaigns.models import Campaign, ProviderConnection, RecipientImport
from campaigns.planning import UNKNOWN_ATTRIBUTE_REASON
from smsconsole.models import Application
from smsconsole.tenancy import parse_id
from templates_app import rules
from templates_app.models import MessageType, Signature, Template, TemplateVariable

# The audience select lists the newest files only; older ones stay valid when chosen before.
AUDIENCE_CHOICES_LIMIT = 100

NOW, SCHEDULED = "now", "scheduled"

VALUE_MESSAGES = {
    "empty": _("Enter a value for this variable."),
    "too_long": _("At most %(max_length)s characters."),
    "too_short": _("A phone number of at least %(min_length)s characters."),
    "forbidden_character": _("A text value may not contain . 。 ' < > { }"),
    "link": _("Links belong in the template's fixed text, not in a variable."),
    "contact": _("A variable may not carry a mobile number or a QQ/WeChat handle."),
}
INVALID_MESSAGES = {
    "PHONE": _("Only digits, + and -."),
    "CHARDIGIT": _("Only letters and digits."),
    "DATETIME": _("A date such as 2025-05-01 or 2025年5月1日, or a time such as 14:30."),
    "MONEY": _("An amount in figures or Chinese numerals, without a currency sign."),
    "TEXT": _("This value is not allowed."),
}


def value_message(code, variable):
    if code == "invalid":
        return INVALID_MESSAGES[variable.attribute]
    return VALUE_MESSAGES[code] % {
        "max_length": variable.max_length,
        "min_length": settings.SMS_PHONE_VARIABLE_MIN_LENGTH,
    }


def default_connection():
    """The connection named by SMS_DEFAULT_CONNECTION if it is enabled, else the first enabled one."""
    enabled = ProviderConnection.objects.filter(enabled=True)
    return enabled.filter(name=settings.SMS_DEFAULT_CONNECTION).first() or enabled.order_by("name").first()


def variable_field_name(variable):
    return f"var_{variable.position}"


def source_field_name(variable):
    return f"src_{variable.position}"


def in_promotion_hours(moment, hours=quiet_hours.PROMOTION_HOURS):
    return quiet_hours.is_open(moment, timezone.get_current_timezone(), hours=hours)


def sendable_applications(applications):
    return applications.filter(status__in=[Application.Status.CREATED, Application.Status.LAUNCHED]).order_by("name")


def sendable_signatures(signatures, application):
    """Signatures of the application that may send; verification signatures have no template a group send may use."""
    if application is None:
        return signatures.none()
    return (
        signatures.sendable()
        .filter(application=application)
        .exclude(type=MessageType.VERIFICATION)
        .order_by("name", "type")
    )


def group_send_templates(templates):
    """The templates a group send may use: active, bound to a signature, not verification codes.
    The import form offers the same, so no file is prepared for a template campaigns refuse."""
    return templates.filter(status=Template.Status.ACTIVE, universal=False).exclude(type=MessageType.VERIFICATION)


def sendable_templates(templates, signature):
    """Group-send templates bound to the signature and of its type."""
    if signature is None:
        return templates.none()
    return group_send_templates(templates).filter(signature=signature, type=signature.type).order_by("name", "pk")


def _pick(queryset, raw):
    pk = parse_id(raw)
    return queryset.filter(pk=pk).first() if pk is not None else None


class SignatureChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, signature):
        return f"{signature} · {signature.get_type_display()}"


class TemplateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, template):
        return f"{template.name} · {template.get_type_display()} · #{template.pk}"


class CampaignForm(forms.Form):
    """Create or edit a draft campaign.

    Querysets (`applications`, `signatures`, `templates`, `imports`, `contact_lists`) are the
    account's own; `connections` is given for staff only, who may pick the provider connection.
    """

    name = forms.CharField(label=_("Campaign name"), max_length=100)
    application = forms.ModelChoiceField(queryset=Application.objects.none(), label=_("Application"))
    signature = SignatureChoiceField(queryset=Signature.objects.none(), label=_("Signature"))
    template = TemplateChoiceField(
        queryset=Template.objects.none(),
        label=_("Template"),
        help_text=_(
            "Active templates of the signature's type. "
            "Verification-code and universal templates cannot be sent in bulk."
        ),
    )
    audience = forms.CharField(
        label=_("Recipients"),
        widget=forms.Select,
        help_text=_(
            "A completed recipient file of this application (with this template's values, or numbers only), "
            "or a contact list."
        ),
    )
    when = forms.ChoiceField(
        label=_("Time"),
        widget=forms.RadioSelect,
        choices=[(NOW, _("Send right after confirmation")), (SCHEDULED, _("Schedule"))],
        initial=NOW,
    )
    scheduled_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(
        self,
        *args,
        applications,
        signatures,
        templates,
        imports,
        contact_lists,
        connections=None,
        campaign=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self._imports = imports
        self._contact_lists = contact_lists
        days = settings.SMS_MAX_SCHEDULE_DAYS
        self.fields["scheduled_at"].help_text = _(
            "In the account's time zone (%(zone)s), at most %(days)s days ahead."
        ) % {"zone": timezone.get_current_timezone_name(), "days": days}

        self.fields["application"].queryset = sendable_applications(applications)
        self.current_application = _pick(self.fields["application"].queryset, self._raw("application"))
        self.fields["signature"].queryset = sendable_signatures(signatures, self.current_application)
        self.current_signature = _pick(self.fields["signature"].queryset, self._raw("signature"))
        self.fields["template"].queryset = sendable_templates(templates, self.current_signature)
        self.current_template = _pick(self.fields["template"].queryset, self._raw("template"))
        self.template_variables = (
            list(TemplateVariable.objects.filter(template=self.current_template).order_by("position"))
            if self.current_template
            else []
        )
        self.fields["audience"].widget.choices = self._audience_choices()
        self.audience_kind, self.audience = self._current_audience()
        # The audience decides where the values come from: a file imported with this template
        # carries them per row; a number-only file or a contact list takes typed values, and a
        # contact list may fill a variable from each contact's name or custom fields.
        if self.audience_kind == "import" and self.audience.template_id and self.template_variables:
            self.chosen_mode = Campaign.Mode.DIFF
        else:
            self.chosen_mode = Campaign.Mode.TEMPLATE
        self.source_choices = self._source_choices()

        for variable in self.template_variables:
            label = f"${{{variable.position}}}"
            if variable.description:
                label = f"{label} {variable.description}"
            self.fields[variable_field_name(variable)] = forms.CharField(
                label=label,
                required=False,
                help_text=_("%(attribute)s, at most %(max_length)s characters")
                % {"attribute": variable.get_attribute_display(), "max_length": variable.max_length},
            )
            if self.source_choices:
                self.fields[source_field_name(variable)] = forms.ChoiceField(
                    label=_("Value of %(variable)s") % {"variable": f"${{{variable.position}}}"},
                    choices=self.source_choices,
                    required=False,
                )

        if connections is not None:
            self.fields["connection"] = forms.ModelChoiceField(
                queryset=connections, label=_("Provider connection"), initial=self._fixed_connection()
            )
        self._add_htmx()

    # --- reading the cascade -------------------------------------------------------------------

    def _raw(self, name):
        """The submitted value, else the initial one, as a string."""
        if self.is_bound:
            return self.data.get(name) or ""
        value = self.initial.get(name)
        if value is None:
            return ""
        return str(getattr(value, "pk", value))

    def _fixed_connection(self):
        """The connection an operator gets: the draft's own while it is enabled, else the default."""
        if self.campaign is not None and self.campaign.connection_id and self.campaign.connection.enabled:
            return self.campaign.connection
        return default_connection()

    @property
    def chooses_connection(self):
        return "connection" in self.fields

    @property
    def connection_name(self):
        connection = self._fixed_connection()
        return connection.name if connection else ""

    def variable_rows(self):
        """Per template variable: its source select (contact lists only) and its value field."""
        rows = []
        for variable in self.template_variables:
            source = self[source_field_name(variable)] if self.source_choices else None
            rows.append(
                {
                    "source": source,
                    "value": self[variable_field_name(variable)],
                    "typed": source is None or not source.value(),
                }
            )
        return rows

    def _current_audience(self):
        kind, _sep, pk = self._raw("audience").partition(":")
        pk = parse_id(pk)
        if pk is None or self.current_application is None:
            return None, None
        if kind == "import":
            found = self._imports.select_related("application", "template").filter(pk=pk).first()
        elif kind == "list":
            found = self._contact_lists.annotate(size=Count("contacts")).filter(pk=pk).first()
        else:
            found = None
        return (kind, found) if found is not None else (None, None)

    def _source_choices(self):
        if self.audience_kind != "list" or not self.template_variables:
            return []
        choices = [("", gettext("A value typed here, the same for everyone")), ("name", gettext("Each contact's name"))]
        choices += [
            (f"custom:{name}", gettext("Each contact's “%(field)s”") % {"field": name})
            for name in self.audience.field_names
        ]
        return choices

    def _audience_choices(self):
        choices = [("", "---------")]
        if self.current_application is None or self.current_template is None:
            return choices
        imports = self._imports.filter(status=RecipientImport.Status.COMPLETED, application=self.current_application)
        recent = imports.filter(contact_list__isnull=True).order_by("-created_at")
        with_values = recent.filter(template=self.current_template)[:AUDIENCE_CHOICES_LIMIT]
        numbers_only = recent.filter(template__isnull=True)[:AUDIENCE_CHOICES_LIMIT]
        if self.template_variables:
            groups = [
                (gettext("Recipient files with values per recipient"), with_values),
                (gettext("Recipient files with numbers only"), numbers_only),
            ]
        else:
            # A template without variables takes any file of its application for its numbers.
            groups = [
                (
                    gettext("Recipient files"),
                    recent.filter(Q(template=self.current_template) | Q(template__isnull=True))[
                        :AUDIENCE_CHOICES_LIMIT
                    ],
                )
            ]
        for label, files in groups:
            entries = [(f"import:{imp.pk}", self._import_label(imp)) for imp in files]
            if entries:
                choices.append((label, entries))
        lists = self._contact_lists.annotate(size=Count("contacts")).order_by("name")
        entries = [
            (
                f"list:{cl.pk}",
                ngettext("%(name)s · %(count)s contact", "%(name)s · %(count)s contacts", cl.size)
                % {"name": cl.name, "count": number_format(cl.size, force_grouping=True)},
            )
            for cl in lists
        ]
        if entries:
            choices.append((gettext("Contact lists"), entries))
        return choices

    @staticmethod
    def _import_label(imp):
        numbers = ngettext("%(count)s number", "%(count)s numbers", imp.accepted) % {
            "count": number_format(imp.accepted, force_grouping=True)
        }
        kind = gettext("with variables") if imp.template_id else gettext("numbers only")
        uploaded = date_format(timezone.localtime(imp.created_at), "Y-m-d H:i")
        return f"{imp.original_name} · {numbers} · {kind} · {uploaded}"

    def _add_htmx(self):
        def cascade(field, url_name, target):
            attrs = {
                "hx-get": reverse_lazy(f"campaigns:{url_name}"),
                "hx-trigger": "change",
                "hx-target": target,
                "hx-swap": "outerHTML",
                "hx-include": "closest form",
            }
            self.fields[field].widget.attrs.update(attrs)

        cascade("application", "campaign_options_signatures", "#campaign-after-application")
        cascade("signature", "campaign_options_templates", "#campaign-after-signature")
        cascade("template", "campaign_options_audiences", "#campaign-after-template")
        cascade("audience", "campaign_options_audiences", "#campaign-after-template")
        for variable in self.template_variables:
            if source_field_name(variable) in self.fields:
                cascade(source_field_name(variable), "campaign_options_audiences", "#campaign-after-template")

    # --- validation ----------------------------------------------------------------------------

    def clean(self):
        cleaned = super().clean()
        template = cleaned.get("template")
        cleaned["mode"] = self.chosen_mode
        cleaned["variable_sources"] = self._clean_sources(cleaned)
        if template and rules.unknown_attributes(variable.attribute for variable in self.template_variables):
            self.add_error("template", gettext(UNKNOWN_ATTRIBUTE_REASON))
            template = None
        cleaned["shared_variables"] = self._clean_shared_variables(cleaned) if template else []
        self._clean_audience(cleaned)
        self._clean_time(cleaned)
        if "connection" not in self.fields:
            cleaned["connection"] = self._fixed_connection()
            if cleaned["connection"] is None:
                self.add_error(None, _("No provider connection is available; ask an administrator to add one."))
        return cleaned

    def _clean_sources(self, cleaned):
        """Per variable, where a contact list's value comes from ("" for the typed value)."""
        if not self.source_choices:
            return []
        return [cleaned.get(source_field_name(variable)) or "" for variable in self.template_variables]

    def _clean_shared_variables(self, cleaned):
        if cleaned["mode"] != Campaign.Mode.TEMPLATE:
            return []
        sources = cleaned["variable_sources"] or [""] * len(self.template_variables)
        values = []
        for variable, source in zip(self.template_variables, sources):
            name = variable_field_name(variable)
            if source:
                # Filled per contact; each value is checked when the recipients are prepared.
                values.append("")
                continue
            value = cleaned.get(name) or ""
            code = rules.validate_variable_value(
                variable.attribute, value, variable.max_length, settings.SMS_PHONE_VARIABLE_MIN_LENGTH
            )
            if code:
                self.add_error(name, value_message(code, variable))
            values.append(value)
        return values

    def _clean_audience(self, cleaned):
        cleaned["recipient_import"] = cleaned["contact_list"] = None
        raw = cleaned.get("audience") or ""
        kind, _sep, pk = raw.partition(":")
        pk = parse_id(pk)
        if kind == "import" and pk is not None:
            recipient_import = self._imports.select_related("application", "template").filter(pk=pk).first()
            if recipient_import is not None:
                cleaned["recipient_import"] = recipient_import
                self._check_import(recipient_import, cleaned)
                return
        elif kind == "list" and pk is not None:
            contact_list = self._contact_lists.annotate(size=Count("contacts")).filter(pk=pk).first()
            if contact_list is not None:
                cleaned["contact_list"] = contact_list
                if not contact_list.size:
                    self.add_error("audience", _("This contact list is empty."))
                return
        if "audience" not in self.errors:
            self.add_error("audience", _("Choose a recipient file or a contact list."))

    def _check_import(self, recipient_import, cleaned):
        application, template = cleaned.get("application"), cleaned.get("template")
        if recipient_import.status != RecipientImport.Status.COMPLETED:
            self.add_error(
                "audience",
                _("Only a completed import can be sent to; this file is “%(status)s”.")
                % {"status": recipient_import.get_status_display()},
            )
        elif application is not None and recipient_import.application_id != application.pk:
            self.add_error(
                "audience",
                _("This file was imported for another application (%(application)s).")
                % {"application": recipient_import.application.name},
            )
        elif template is not None and not self._import_fits_template(recipient_import, template, cleaned["mode"]):
            self.add_error(
                "audience",
                _("This file's columns were checked against another template; import it again for this one."),
            )
        elif recipient_import.accepted - recipient_import.opted_out <= 0:
            self.add_error("audience", _("No number of this file can be sent to."))

    @staticmethod
    def _import_fits_template(recipient_import, template, mode):
        if recipient_import.template_id == template.pk:
            return True
        # A numbers-only file works with values shared by everyone.
        return mode == Campaign.Mode.TEMPLATE and recipient_import.template_id is None

    def _clean_time(self, cleaned):
        when, at = cleaned.get("when"), cleaned.get("scheduled_at")
        now = timezone.now()
        template = cleaned.get("template")
        promotion = template is not None and template.type == MessageType.PROMOTION
        # The account's own window (Settings → Sending settings), within the carriers' hours.
        hours = quiet_hours.hours_of(template.application.account_id) if promotion else quiet_hours.PROMOTION_HOURS
        if when == NOW:
            cleaned["scheduled_at"] = None
            if at is not None:
                self.add_error(
                    "scheduled_at",
                    _(
                        "A time was entered but “Send right after confirmation” is chosen: "
                        "choose “Schedule” or clear the time."
                    ),
                )
            elif promotion and not in_promotion_hours(now, hours):
                self.add_error("when", self._promotion_hours_message(hours))
            return
        if when != SCHEDULED or "scheduled_at" in self.errors:
            return
        days = settings.SMS_MAX_SCHEDULE_DAYS
        if at is None:
            self.add_error("scheduled_at", _("Enter the date and time to send at."))
        elif at <= now:
            self.add_error("scheduled_at", _("The time must be in the future."))
        elif at > now + timedelta(days=days):
            self.add_error(
                "scheduled_at", _("A campaign can be scheduled at most %(days)s days ahead.") % {"days": days}
            )
        elif promotion and not in_promotion_hours(at, hours):
            self.add_error("scheduled_at", self._promotion_hours_message(hours))

    @staticmethod
    def _promotion_hours_message(hours):
        start, end = hours
        return _("Promotional messages can only be sent between %(start)02d:00 and %(end)02d:00.") % {
            "start": start,
            "end": end,
        }

    # --- saving ----------------------------------------------------------------------------------

    SAVED_FIELDS = [
        "application",
        "signature",
        "template",
        "connection",
        "name",
        "mode",
        "shared_variables",
        "variable_sources",
        "recipient_import",
        "contact_list",
        "scheduled_at",
    ]

    def apply(self, campaign):
        """Copies the cleaned values onto `campaign` (not saved) and returns the names of the fields set."""
        for name in self.SAVED_FIELDS:
            setattr(campaign, name, self.cleaned_data[name])
        return list(self.SAVED_FIELDS)


def initial_from(campaign):
    """The form's values for an existing campaign, in the shape the form posts them."""
    initial = {
        "name": campaign.name,
        "application": campaign.application_id,
        "signature": campaign.signature_id,
        "template": campaign.template_id,
        "when": SCHEDULED if campaign.scheduled_at else NOW,
        "scheduled_at": (
            timezone.localtime(campaign.scheduled_at).strftime("%Y-%m-%dT%H:%M") if campaign.scheduled_at else ""
        ),
        "connection": campaign.connection_id,
    }
    # A contact list whose fields fill variables is sent through an import prepared from it; the
    # form shows the list the operator chose.
    if campaign.contact_list_id:
        initial["audience"] = f"list:{campaign.contact_list_id}"
    elif campaign.recipient_import_id:
        initial["audience"] = f"import:{campaign.recipient_import_id}"
    positions = list(campaign.template.variables.order_by("position").values_list("position", flat=True))
    for position, value in zip(positions, campaign.shared_variables or []):
        initial[f"var_{position}"] = value
    for position, source in zip(positions, campaign.variable_sources or []):
        initial[f"src_{position}"] = source
    return {key: "" if value is None else str(value) for key, value in initial.items()}


class CampaignFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    name = forms.CharField(label=_("Name"), required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All")), *Campaign.Status.choices]

    def apply(self, campaigns):
        if not self.is_valid():
            return campaigns
        if self.cleaned_data["status"]:
            campaigns = campaigns.filter(status=self.cleaned_data["status"])
        if self.cleaned_data["name"]:
            campaigns = campaigns.filter(name__icontains=self.cleaned_data["name"])
        return campaigns
