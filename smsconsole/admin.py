from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _

from smsconsole.forms import normalise_ip_allowlist, normalise_region
from smsconsole.models import Account, Application, AuditLog, Membership, TransitionError, audit, timezone_choices


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class AccountAdminForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = "__all__"
        widgets = {"timezone": forms.Select(choices=timezone_choices)}


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    list_display = ["name", "company_name", "timezone", "service_status", "balance", "overdrawn_since", "created_at"]
    list_select_related = ["service_application"]
    search_fields = ["name", "company_name"]
    # The balance moves through the ledger only (top-ups and corrections in its admin, campaigns.money).
    readonly_fields = ["balance", "overdrawn_since"]
    inlines = [MembershipInline]

    @admin.display(description=_("SMS service"), ordering="service_application__status")
    def service_status(self, obj):
        # Decided on the review desk (accounts.admin.ServiceApplicationAdmin).
        application = getattr(obj, "service_application", None)
        return application.get_status_display() if application else _("Not applied")


def _change_status(modeladmin, request, queryset, transition):
    done = 0
    for app in queryset:
        before = app.status
        try:
            getattr(app, transition)()
        except TransitionError as error:
            modeladmin.message_user(request, f"{app}: {' '.join(error.messages)}", messages.WARNING)
        else:
            audit(request.user, transition, app, before={"status": before}, after={"status": app.status})
            done += 1
    if done:
        modeladmin.message_user(request, _("%(n)s application(s) changed.") % {"n": done}, messages.SUCCESS)


@admin.action(description=_("Launch the selected applications"), permissions=["change"])
def launch(modeladmin, request, queryset):
    _change_status(modeladmin, request, queryset, "launch")


@admin.action(description=_("Suspend the selected applications"), permissions=["change"])
def suspend(modeladmin, request, queryset):
    _change_status(modeladmin, request, queryset, "suspend")


class ApplicationAdminForm(forms.ModelForm):
    def clean_name(self):
        # The account is read-only here, so Django skips the (account, name) constraint; check it by hand.
        name = self.cleaned_data["name"]
        siblings = Application.objects.filter(account_id=self.instance.account_id).exclude(pk=self.instance.pk)
        if siblings.filter(name=name).exists():
            raise forms.ValidationError(_("The account already has an application with this name."))
        return name

    def clean_ip_allowlist(self):
        return normalise_ip_allowlist(self.cleaned_data["ip_allowlist"])

    def clean_default_region(self):
        return normalise_region(self.cleaned_data["default_region"])


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    form = ApplicationAdminForm
    list_display = ["name", "account", "status", "app_key", "created_at"]
    list_filter = ["status"]
    list_select_related = ["account"]
    search_fields = ["name", "app_key", "account__name"]
    # The secret is encrypted and not editable on the model; status moves only through launch/suspend.
    fields = [
        "account",
        "name",
        "app_key",
        "status",
        "status_changed_at",
        "upstream_url",
        "report_url",
        "ip_allowlist",
        "default_region",
        "connection",
        "created_at",
    ]
    readonly_fields = ["account", "app_key", "status", "status_changed_at", "created_at"]
    actions = [launch, suspend]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request, obj, form, change):
        before = {f: form.initial.get(f) for f in form.changed_data}
        super().save_model(request, obj, form, change)
        if form.changed_data:
            after = {f: getattr(obj, f) for f in form.changed_data}
            # A foreign key (the provider connection) is audited by its id, as form.initial has it.
            after = {f: v.pk if isinstance(v, models.Model) else v for f, v in after.items()}
            audit(request.user, "edit", obj, before=before, after=after)

    def has_add_permission(self, request):
        # Applications are created in the console through create_application, which issues the secret.
        return False


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "account", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    list_select_related = ["actor", "account"]
    search_fields = ["actor__username", "object_repr"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
