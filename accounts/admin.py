"""Staff's side of joining: the review of service applications (开通) on the review desk, and
invitations, which an administrator may also send (an account set up by staff gets its first
operator that way)."""

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import emails
from accounts.models import Invitation, ServiceApplication
from smsconsole.models import audit
from templates_app import reasons
from templates_app.admin import ReviewAdmin, ReviewStatusFilter


@admin.register(ServiceApplication)
class ServiceApplicationAdmin(ReviewAdmin):
    review_kind = reasons.SERVICE
    list_display = ["account", "company_name", "status", "submitted_at", "answer_due", "applied_by"]
    list_filter = [ReviewStatusFilter]
    list_select_related = ["account", "applied_by"]
    search_fields = ["account__name", "account__company_name", "intended_use"]
    ordering = [F("submitted_at").asc(nulls_last=True), "id"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "account",
                    "company_name",
                    "intended_use",
                    "terms_version",
                    "applied_by",
                    "status",
                    "submitted_at",
                    "answer_due",
                ]
            },
        ),
        (_("Review"), {"fields": ["reviewed_by", "reviewed_at", "reason_label", "reason_text"]}),
    ]
    readonly_fields = ["company_name", "answer_due", "reason_label"]

    @admin.display(description=_("account"), ordering="account__name")
    def account(self, obj):
        return obj.account

    @admin.display(description=_("company name"), ordering="account__company_name")
    def company_name(self, obj):
        return obj.account.company_name

    @admin.display(description=_("answer due"))
    def answer_due(self, obj):
        return obj.answer_due or ""

    @admin.display(description=_("rejection reason"))
    def reason_label(self, obj):
        return obj.reason_label if obj.reason_code else ""


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "account", "role", "invited_by", "sent_at", "accepted_at", "revoked_at"]
    list_select_related = ["account", "invited_by"]
    search_fields = ["email", "account__name"]
    raw_id_fields = ["account"]
    fields = ["account", "email", "role"]

    def has_change_permission(self, request, obj=None):
        # Invitations change through accepting and withdrawing, not by editing.
        return False

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            obj.invited_by = request.user
            obj.save()
            audit(request.user, "invite", obj, after={"email": obj.email, "role": obj.role})
        try:
            emails.send_invitation(obj)
        except emails.NotSent as error:
            self.message_user(
                request, gettext("The invitation could not be emailed: %(error)s") % {"error": error}, messages.ERROR
            )

    def has_delete_permission(self, request, obj=None):
        # Withdrawing is done from the account's team page, which audits it; deleting would lose the record.
        return False
