"""django-import-export resources for the admin's small imports and exports of contacts and opt-outs.

Recipient files and console imports do not go through here (django-import-export holds the whole
file in memory and manages under 1,000 rows/s). Numbers are normalised exactly as in the console,
and a row whose number cannot be used is reported invalid with the reason instead of being saved.
"""

import json

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from campaigns import import_reasons
from campaigns.contacts_import import default_region
from campaigns.exports import safe_cell
from campaigns.models import Contact, ContactList, OptOut
from campaigns.numbers import normalise_number
from smsconsole.models import Account
from smsconsole.tenancy import parse_id


class CustomFieldsWidget(widgets.JSONWidget):
    """A contact's custom fields as a JSON object; an empty cell is no fields."""

    def clean(self, value, row=None, **kwargs):
        parsed = super().clean(value, row=row, **kwargs)
        if parsed is None:
            return {}
        if not isinstance(parsed, dict):
            raise ValueError(_('Custom fields must be a JSON object such as {"city": "Hangzhou"}.'))
        return {str(key): "" if item is None else str(item) for key, item in parsed.items()}

    def render(self, value, obj=None, **kwargs):
        return json.dumps(value, ensure_ascii=False) if value else ""


class FormulaSafeExport:
    """Exports every cell through exports.safe_cell, so a file opened in a spreadsheet runs no formula."""

    def export_field(self, field, instance, **kwargs):
        return safe_cell(super().export_field(field, instance, **kwargs))


class NormalisedPhoneMixin:
    """Normalises the row's phone before it is matched or saved; `region_for(row)` picks the region."""

    def __init__(self, region=None, **kwargs):
        super().__init__(**kwargs)
        self.region = region
        self._owners = {}

    def owner(self, model, row, column):
        """The row's owner object (contact list or account) by id, cached for the import."""
        raw = str(row.get(column) or "").strip()
        key = (model, raw)
        if key not in self._owners:
            pk = parse_id(raw)
            self._owners[key] = model.objects.filter(pk=pk).first() if pk is not None else None
        owner = self._owners[key]
        if owner is None:
            raise ValidationError(
                {column: _("No %(model)s with id “%(id)s”.") % {"model": model._meta.verbose_name, "id": raw or "-"}}
            )
        return owner

    def normalise_phone(self, row, account):
        region = self.region or self._owners.setdefault(("region", account.pk), default_region(account))
        phone, error = normalise_number(row.get("phone"), region)
        if error:
            raise ValidationError({"phone": import_reasons.reason_message(error)})
        row["phone"] = phone


class ContactResource(FormulaSafeExport, NormalisedPhoneMixin, resources.ModelResource):
    """Columns: contact_list (id), phone, name, custom_fields (JSON); (contact_list, phone) identifies a contact."""

    contact_list = fields.Field(
        attribute="contact_list", column_name="contact_list", widget=widgets.ForeignKeyWidget(ContactList, "pk")
    )
    custom_fields = fields.Field(attribute="fields", column_name="custom_fields", widget=CustomFieldsWidget())
    created_at = fields.Field(attribute="created_at", column_name="created_at", readonly=True)

    class Meta:
        model = Contact
        fields = ("contact_list", "phone", "name", "custom_fields", "created_at")
        import_id_fields = ("contact_list", "phone")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def before_import_row(self, row, **kwargs):
        contact_list = self.owner(ContactList, row, "contact_list")
        self.normalise_phone(row, contact_list.account)

    def get_queryset(self):
        return Contact.objects.select_related("contact_list")


class OptOutResource(FormulaSafeExport, NormalisedPhoneMixin, resources.ModelResource):
    """Columns: account (id), phone, source, note; (account, phone) identifies an opt-out."""

    account = fields.Field(attribute="account", column_name="account", widget=widgets.ForeignKeyWidget(Account, "pk"))
    created_at = fields.Field(attribute="created_at", column_name="created_at", readonly=True)

    class Meta:
        model = OptOut
        fields = ("account", "phone", "source", "note", "created_at")
        import_id_fields = ("account", "phone")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def before_import_row(self, row, **kwargs):
        account = self.owner(Account, row, "account")
        self.normalise_phone(row, account)
        source = str(row.get("source") or "").strip()
        if not source:
            # Without a source an existing opt-out keeps its own; after_init_instance sets a new one's.
            row.pop("source", None)
        elif source not in OptOut.Source.values:
            raise ValidationError(
                {"source": _("Source must be one of: %(choices)s.") % {"choices": ", ".join(OptOut.Source.values)}}
            )

    def after_init_instance(self, instance, new, row, **kwargs):
        if new:
            instance.source = OptOut.Source.IMPORT
