"""Replies and pushes for staff: read-only, for diagnosis (a reply to no known channel number, a
push that was given up)."""

from django.contrib import admin

from campaigns.models import Push, PushAttempt, Reply


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reply)
class ReplyAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "phone", "text", "destination", "account", "signature", "opted_out"]
    list_filter = ["opted_out", "connection"]
    list_select_related = ["account", "signature"]
    search_fields = ["phone", "destination", "text"]
    date_hierarchy = "received_at"


class PushAttemptInline(admin.TabularInline):
    model = PushAttempt
    extra = 0
    fields = ["number", "started_at", "duration_ms", "status_code", "error"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Push)
class PushAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "account", "application", "url", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["account", "application"]
    search_fields = ["url", "dedupe_key"]
    inlines = [PushAttemptInline]
