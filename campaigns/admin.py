"""Admin for audiences: contact lists, contacts and opt-outs (with small imports and exports), and a
read-only view of recipient imports and campaigns, and the provider connections the gateway uses.

The admin's imports go through campaigns.resources, which normalises numbers as the console does;
large files belong in the console's streaming import, not here.
"""

from django import forms
from django.contrib import admin
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from campaigns import import_reasons, money
from campaigns.contacts_import import default_region
from campaigns.models import (
    AccountLimits,
    Campaign,
    Contact,
    ContactList,
    LedgerEntry,
    Notice,
    OptOut,
    PendingReceipt,
    ProviderConnection,
    RecipientImport,
    RemoteTemplate,
)
from campaigns.numbers import normalise_number
from campaigns.resources import ContactResource, OptOutResource
from smsconsole.models import Account, audit
from smsconsole.privacy import audit_export


def _clean_phone(form, account):
    raw = form.cleaned_data.get("phone")
    if raw is None or account is None:
        return
    phone, error = normalise_number(raw, default_region(account))
    if error:
        form.add_error("phone", import_reasons.reason_message(error))
    else:
        form.cleaned_data["phone"] = phone
        form.instance.phone = phone


class ContactAdminForm(forms.ModelForm):
    phone = forms.CharField(label=_("number"), max_length=32)

    class Meta:
        model = Contact
        fields = ["contact_list", "phone", "name", "fields"]

    def clean(self):
        cleaned = super().clean()
        contact_list = cleaned.get("contact_list")
        _clean_phone(self, contact_list.account if contact_list else None)
        return cleaned


class OptOutAdminForm(forms.ModelForm):
    phone = forms.CharField(label=_("number"), max_length=32)

    class Meta:
        model = OptOut
        fields = ["account", "phone", "source", "note"]

    def clean(self):
        cleaned = super().clean()
        _clean_phone(self, cleaned.get("account"))
        return cleaned


class PermissionCheckedImportExport(ImportExportModelAdmin):
    """django-import-export lets any staff user import and export unless told otherwise: here an
    import needs the model's add and change permissions (it creates and updates rows) and an export
    its view permission, the same the changelist needs. Every account's contacts are in one table,
    so a reviewer without them must not reach them through the side door.

    Every export writes one audit entry per account it holds rows of (`export_account_path` leads
    from a row to its account), so the account's audit page shows staff exports of its numbers too."""

    export_account_path = "account"
    export_what = ""

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        data = super().get_export_data(file_format, request, queryset, **kwargs)
        rows = dict(queryset.order_by().values_list(F(self.export_account_path)).annotate(n=Count("pk")))
        for account_id, account in Account.objects.in_bulk(list(rows)).items():
            audit_export(
                request.user,
                account,
                what=self.export_what,
                rows=rows[account_id],
                file_format=file_format.get_extension(),
                masked=False,
            )
        return data


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "contact_count", "field_names", "created_at")
    list_select_related = ("account",)
    search_fields = ("name", "account__name")
    raw_id_fields = ("account",)
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(contact_count=Count("contacts"))

    @admin.display(description=_("contacts"), ordering="contact_count")
    def contact_count(self, obj):
        return obj.contact_count


@admin.register(Contact)
class ContactAdmin(PermissionCheckedImportExport):
    form = ContactAdminForm
    resource_classes = [ContactResource]
    export_account_path = "contact_list__account"
    export_what = "contacts"
    list_display = ("phone", "name", "contact_list", "account", "created_at")
    list_select_related = ("contact_list__account",)
    search_fields = ("phone", "name", "contact_list__name")
    raw_id_fields = ("contact_list",)

    @admin.display(description=_("account"), ordering="contact_list__account__name")
    def account(self, obj):
        return obj.contact_list.account


@admin.register(OptOut)
class OptOutAdmin(PermissionCheckedImportExport):
    form = OptOutAdminForm
    resource_classes = [OptOutResource]
    export_what = "opt_outs"
    list_display = ("phone", "account", "source", "note", "created_at")
    list_filter = ("source",)
    list_select_related = ("account",)
    search_fields = ("phone", "note", "account__name")
    raw_id_fields = ("account",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows that change only through their own model methods and tasks: view, never edit.

    Deleting is refused too: a running import or campaign would lose the row its task writes to.
    """

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RecipientImport)
class RecipientImportAdmin(ReadOnlyAdmin):
    """Read-only: imports change only through the console and the import task."""

    list_display = (
        "original_name",
        "account",
        "application",
        "status",
        "rows_read",
        "accepted",
        "rejected",
        "duplicates",
        "opted_out",
        "created_at",
        "finished_at",
    )
    list_filter = ("status",)
    list_select_related = ("account", "application")
    search_fields = ("original_name", "account__name", "application__name")
    date_hierarchy = "created_at"


class ProviderConnectionForm(forms.ModelForm):
    # The password (SMPP) or app secret (HTTP) is write-only: stored encrypted, never shown again.
    new_password = forms.CharField(
        label=_("password or app secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("The SMPP password, or the HTTP connection's app secret. Leave empty to keep the current one."),
    )
    base_url = forms.URLField(
        label=_("access address"),
        required=False,
        max_length=255,
        assume_scheme="https",
        help_text=_(
            "HTTP: the application's access address, e.g. https://smsapi.cn-north-4.myhuaweicloud.com:443 "
            "or another console's address; requests go to its /sms/batchSendSms/v1."
        ),
    )

    class Meta:
        model = ProviderConnection
        fields = (
            "name",
            "kind",
            "host",
            "port",
            "system_id",
            "base_url",
            "app_key",
            "new_password",
            "system_type",
            "tps",
            "max_binds",
            "window",
            "source_rule",
            "source_address",
            "enabled",
        )
        help_texts = {
            "app_key": _("HTTP: the remote application's app key (X-WSSE Username)."),
            "window": _("SMPP: submit_sm in flight per bind. HTTP: requests in flight."),
        }

    def clean(self):
        cleaned = super().clean()
        if not self.instance.password_encrypted and not cleaned.get("new_password"):
            self.add_error("new_password", _("A new connection needs its password."))
        if cleaned.get("source_rule") == ProviderConnection.SourceRule.FIXED and not cleaned.get("source_address"):
            self.add_error("source_address", _("Give the fixed source address."))
        if cleaned.get("kind") == ProviderConnection.Kind.HTTP:
            required = ("base_url", "app_key")
        else:
            required = ("host", "port", "system_id")
        for name in required:
            if name in cleaned and not cleaned.get(name):
                self.add_error(name, _("A connection of this kind needs this field."))
        if "port" in cleaned and cleaned["port"] is None:
            cleaned["port"] = 0  # an HTTP connection's port is in its address
        return cleaned

    def save(self, commit=True):
        if self.cleaned_data.get("new_password"):
            self.instance.password = self.cleaned_data["new_password"]
        return super().save(commit)


class RemoteTemplateInline(admin.TabularInline):
    """HTTP connections: the remote service's templateId for each template sent through it."""

    model = RemoteTemplate
    extra = 1
    raw_id_fields = ("template",)
    verbose_name_plural = _("remote templates (HTTP: the remote service's templateId for each template)")


@admin.register(ProviderConnection)
class ProviderConnectionAdmin(admin.ModelAdmin):
    """Carrier connections the gateway serves; it reads them again within seconds of a change."""

    form = ProviderConnectionForm
    inlines = (RemoteTemplateInline,)
    list_display = ("name", "kind", "host", "port", "system_id", "base_url", "tps", "max_binds", "window", "enabled")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "host", "system_id", "base_url")
    readonly_fields = ("status_report_url",)

    @admin.display(description=_("status report URL"))
    def status_report_url(self, connection):
        """Where an HTTP connection's remote service pushes its status reports (sent as statusCallback)."""
        if not connection.pk or not connection.is_http:
            return "-"
        from campaigns.gateway import status_callback_url

        return status_callback_url(connection)


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    """Read-only: campaigns change state only through their model methods, from the console."""

    list_display = (
        "name",
        "account",
        "application",
        "status",
        "total",
        "submitted",
        "delivered",
        "failed",
        "unknown",
        "skipped",
        "created_at",
    )
    list_filter = ("status", "mode")
    list_select_related = ("account", "application")
    search_fields = ("name", "account__name", "application__name")

    def get_queryset(self, request):
        return super().get_queryset(request).with_counters()  # row plus unsquashed deltas

    date_hierarchy = "created_at"


class LedgerEntryForm(forms.ModelForm):
    """A top-up (positive) or a correction (either sign, with its reason), recorded by staff."""

    class Meta:
        model = LedgerEntry
        fields = ["account", "amount", "note"]
        help_texts = {
            "amount": _("CNY. A positive amount with no note is a top-up; a correction needs its reason in the note."),
        }

    def clean(self):
        cleaned = super().clean()
        amount, note = cleaned.get("amount"), (cleaned.get("note") or "").strip()
        if amount is not None and amount == 0:
            self.add_error("amount", _("The amount must not be zero."))
        if amount is not None and amount < 0 and not note:
            self.add_error("note", _("Give the reason of a correction that takes money."))
        return cleaned


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """The ledger: entries are added (top-ups, corrections) through campaigns.money, never edited."""

    form = LedgerEntryForm
    list_display = (
        "created_at",
        "account",
        "kind",
        "amount",
        "balance_after",
        "segments",
        "campaign",
        "note",
        "created_by",
    )
    list_filter = ("kind",)
    list_select_related = ("account", "campaign", "created_by")
    search_fields = ("account__name", "note")
    raw_id_fields = ("account",)
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        amount, note = form.cleaned_data["amount"], form.cleaned_data["note"].strip()
        if amount > 0 and not note:
            entry = money.top_up(obj.account, amount, user=request.user)
        elif amount > 0:
            entry = money.top_up(obj.account, amount, user=request.user, note=note)
        else:
            entry = money.correct(obj.account, amount, note, user=request.user)
        obj.pk = entry.pk
        audit(request.user, entry.kind, entry, account=obj.account, after={"amount": str(amount), "note": note})


@admin.register(AccountLimits)
class AccountLimitsAdmin(admin.ModelAdmin):
    """Staff raise or set an account's quotas here as its operators do on Settings → Sending
    settings (the reference's "until raised via the account manager")."""

    list_display = (
        "account",
        "daily_alert",
        "daily_limit",
        "monthly_alert",
        "monthly_limit",
        "promotion_start_hour",
        "promotion_end_hour",
        "updated_at",
    )
    list_select_related = ("account",)
    search_fields = ("account__name",)
    raw_id_fields = ("account",)
    readonly_fields = ("updated_at",)

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
        audit(
            request.user,
            "edit",
            obj,
            account=obj.account,
            after={name: str(form.cleaned_data[name]) for name in form.changed_data},
        )


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """What the platform told each account's contacts (campaigns.notices), with the SMS campaign."""

    list_display = ("created_at", "account", "kind", "key", "recipients", "campaign")
    list_filter = ("kind",)
    list_select_related = ("account", "campaign")
    search_fields = ("account__name", "text")
    date_hierarchy = "created_at"


@admin.register(PendingReceipt)
class UnmatchedReceiptAdmin(ReadOnlyAdmin):
    """Receipts that named no message the connection submitted (yet): kept 72 hours for diagnosis.

    Here and not in the console: a receipt that matched nothing names no campaign, so no tenant's."""

    list_display = ("received_at", "connection", "provider_id", "stat", "err")
    list_filter = ("connection", "stat")
    list_select_related = ("connection",)
    search_fields = ("=provider_id",)
    ordering = ("-received_at",)
    show_full_result_count = False
