"""The review desk: reviewers (staff) approve, reject and deactivate what operators submitted.

Reviewers decide; they never edit an operator's content, so every change page is read-only and
decisions go through the models' transition methods, one audited transaction per object.
"""

import functools

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats

from smsconsole.tenancy import parse_id
from templates_app import decisions, reasons
from templates_app.models import (
    CARRIER_REFUSAL,
    NotificationContact,
    Qualification,
    Signature,
    Template,
    TemplateVariable,
)
from templates_app.resources import CarrierResultResource

PENDING = "pending_review"


class ReviewStatusFilter(admin.SimpleListFilter):
    """Status filter that opens on the pending queue but offers every status and "All"."""

    title = _("status")
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return model_admin.model.Status.choices

    def value(self):
        value = super().value()
        return PENDING if value is None else value

    def choices(self, changelist):
        yield {
            "selected": self.value() == self.ALL,
            "query_string": changelist.get_query_string({self.parameter_name: self.ALL}),
            "display": _("All"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(status=self.value())


class RejectForm(forms.Form):
    reason_code = forms.ChoiceField(label=_("Reason"))
    reason_text = forms.CharField(
        label=_("Comment for the applicant"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_("Shown to the applicant with the reason. Required when the reason is “Other”."),
    )

    def __init__(self, kind, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason_code"].choices = [("", "---------"), *reasons.choices(kind)]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason_code") == reasons.OTHER and not cleaned.get("reason_text", "").strip():
            self.add_error("reason_text", _("Describe the reason when choosing “Other”."))
        return cleaned


class DeactivateForm(forms.Form):
    reason_text = forms.CharField(
        label=_("Comment for the applicant"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_("Why the template can no longer be used, e.g. the carrier rule that changed."),
    )


def _document_links(qualification):
    links = [
        (
            reverse("templates_app:qualification_document", args=[qualification.pk, field]),
            qualification._meta.get_field(field).verbose_name,
        )
        for field in Qualification.DOCUMENT_FIELDS
        if getattr(qualification, field)
    ]
    return format_html_join(mark_safe("<br>"), '<a href="{}" target="_blank" rel="noopener">{}</a>', links)


class ReviewAdmin(admin.ModelAdmin):
    """Shared review behaviour; subclasses set `review_kind` (a key of the reasons catalogue)."""

    review_kind = None
    actions = ["approve_selected", "reject_selected"]
    change_form_template = "admin/templates_app/review_change_form.html"
    list_per_page = 50

    def has_add_permission(self, request):
        # Operators create these in the console, with its checks; the admin only decides.
        return False

    def has_change_permission(self, request, obj=None):
        # The change page is a read-only view of one object: decisions are made with the
        # actions and buttons, which need the model's change permission (checked with obj=None).
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def can_review(self, request):
        return super().has_change_permission(request)

    # --- the decisions -----------------------------------------------------------------------

    def _decide(self, request, objects, action, apply, result=None):
        """Applies `apply(locked_obj)` to each object in its own transaction, recorded (audited,
        notified with `result`, see decisions.record); reports refusals."""
        done = 0
        for obj in objects:
            try:
                with transaction.atomic():
                    locked = self.model.objects.select_for_update().get(pk=obj.pk)
                    before = locked.status
                    apply(locked)
                    decisions.record(request.user, locked, action, before, result)
                    self.log_change(request, locked, action)
            except ValidationError as error:
                self.message_user(
                    request,
                    gettext("“%(object)s” was skipped: %(reason)s")
                    % {"object": obj, "reason": " ".join(error.messages)},
                    messages.WARNING,
                )
            else:
                done += 1
        return done

    def _approve(self, request, objects):
        done = self._decide(request, objects, "approve", lambda obj: obj.approve(request.user))
        if done:
            self.message_user(
                request,
                ngettext("%(count)d item approved.", "%(count)d items approved.", done) % {"count": done},
                messages.SUCCESS,
            )

    def _decision_form_page(
        self, request, objects, form, *, action=None, title=None, template=None, intro=None, submit_label=None
    ):
        context = {
            **self.admin_site.each_context(request),
            "title": title or _("Reject"),
            "opts": self.model._meta,
            "objects": objects,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
            "intro": intro,
            "submit_label": submit_label,
        }
        return TemplateResponse(request, template or "admin/templates_app/reject_selected.html", context)

    def _with_form(self, request, objects, form_class, *, action, audit_action, apply, done, result=None, **page):
        """Shows the form's page for the objects, or applies `apply(obj, cleaned_data)` to each once
        the form was posted valid; `done(count)` is the success message."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            count = self._decide(request, objects, audit_action, lambda obj: apply(obj, data), result)
            if count:
                self.message_user(request, done(count), messages.SUCCESS)
            return None
        return self._decision_form_page(request, objects, form, action=action, **page)

    def _reject_with(self, request, objects, *, action, kind=None, method="reject", audit_action="reject"):
        """Shows the reason form, or applies `method(reviewer, code, text)` once it was posted valid."""
        return self._with_form(
            request,
            objects,
            functools.partial(RejectForm, kind or self.review_kind),
            action=action,
            audit_action=audit_action,
            apply=lambda obj, data: getattr(obj, method)(
                request.user, data["reason_code"], data["reason_text"].strip()
            ),
            done=lambda n: ngettext("%(count)d item rejected.", "%(count)d items rejected.", n) % {"count": n},
        )

    @admin.action(description=_("Approve selected"), permissions=["change"])
    def approve_selected(self, request, queryset):
        self._approve(request, list(queryset))

    @admin.action(description=_("Reject selected"), permissions=["change"])
    def reject_selected(self, request, queryset):
        return self._reject_with(request, list(queryset), action="reject_selected")

    # --- per-object buttons on the change page ------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/approve/", self.admin_site.admin_view(self.approve_view), name="%s_%s_approve" % info
            ),
            path("<path:object_id>/reject/", self.admin_site.admin_view(self.reject_view), name="%s_%s_reject" % info),
            *super().get_urls(),
        ]

    def _object_for_decision(self, request, object_id):
        if not self.can_review(request):
            raise PermissionDenied
        pk = parse_id(object_id)
        if pk is None:
            raise Http404
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def _change_url(self, obj):
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])

    def _button_view(self, request, object_id, decide):
        """A decision taken with one button of the change page: POST only, then back to the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self._object_for_decision(request, object_id)
        decide(request, [obj])
        return HttpResponseRedirect(self._change_url(obj))

    def _form_view(self, request, object_id, decide):
        """A decision that asks for a form first: `decide` returns its page until it was applied."""
        obj = self._object_for_decision(request, object_id)
        return decide(request, [obj]) or HttpResponseRedirect(self._change_url(obj))

    def approve_view(self, request, object_id):
        return self._button_view(request, object_id, self._approve)

    def reject_view(self, request, object_id):
        return self._form_view(
            request, object_id, lambda request, objects: self._reject_with(request, objects, action=None)
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_review"] = obj is not None and obj.status == PENDING and self.can_review(request)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    # --- columns -----------------------------------------------------------------------------

    @admin.display(description=_("urged"), ordering="urged_at")
    def urged(self, obj):
        if obj.urged_at is None:
            return ""
        return format_html('<strong title="{}">⚑ {}</strong>', obj.urged_at, gettext("Urged"))

    @admin.display(description=_("account"), ordering="application__account__name")
    def account(self, obj):
        return obj.application.account


# Oldest urge first, then oldest submission: the order of templates_app.models.review_queue,
# applied to every status so the "All" view keeps the same order.
URGED_THEN_OLDEST = (F("urged_at").asc(nulls_last=True), F("submitted_at").asc(nulls_last=True), "id")


@admin.register(Qualification)
class QualificationAdmin(ReviewAdmin):
    review_kind = reasons.QUALIFICATION
    list_display = ["name", "company_name", "account", "purpose", "status", "documents", "submitted_at"]
    list_filter = [ReviewStatusFilter, "purpose", "account"]
    list_select_related = ["account"]
    search_fields = ["name", "company_name", "credit_code", "account__name"]
    ordering = [F("submitted_at").asc(nulls_last=True), "id"]
    fieldsets = [
        (None, {"fields": ["account", "name", "status", "submitted_at"]}),
        (_("Company"), {"fields": ["company_name", "credit_code", "purpose", "legal_representative", "handler_name"]}),
        (_("Documents"), {"fields": ["documents"]}),
        (_("Review"), {"fields": ["reviewed_by", "reviewed_at", "reason_label", "reason_text"]}),
    ]
    # The file fields themselves are left out: their widget would link to the media URL, which
    # bypasses the access check of the document view.
    readonly_fields = ["documents", "reason_label"]

    @admin.display(description=_("account"), ordering="account__name")
    def account(self, obj):
        return obj.account

    @admin.display(description=_("documents"))
    def documents(self, obj):
        return _document_links(obj)

    @admin.display(description=_("rejection reason"))
    def reason_label(self, obj):
        return obj.reason_label if obj.reason_code else ""


class CarrierApproveForm(forms.Form):
    channel_number = forms.RegexField(
        label=_("Channel number"),
        regex=r"^[0-9]{1,21}$",
        required=False,
        max_length=21,
        help_text=_(
            "The number the carrier assigned, if it did (digits only). Left empty, the signature keeps its "
            "own or gets a new one."
        ),
        error_messages={"invalid": _("A channel number has 1 to 21 digits.")},
    )

    def __init__(self, *args, several=False, **kwargs):
        super().__init__(*args, **kwargs)
        if several:
            # One number cannot be every signature's: each keeps its own or gets a new one.
            del self.fields["channel_number"]


class CarrierRejectForm(forms.Form):
    carrier_reason = forms.CharField(
        label=_("The carrier's reason"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_("Shown to the applicant as the carrier gave it."),
    )


class SignatureStatusFilter(ReviewStatusFilter):
    """The review queue's filter, with the signatures waiting for the carrier's answer as one choice."""

    WITH_CARRIER = "with_carrier"

    def lookups(self, request, model_admin):
        return [(self.WITH_CARRIER, _("Waiting for the carrier")), *Signature.Status.choices]

    def queryset(self, request, queryset):
        if self.value() == self.WITH_CARRIER:
            return queryset.filter(status__in=CARRIER_REFUSAL)
        return super().queryset(request, queryset)


@admin.register(Signature)
class SignatureAdmin(ImportExportMixin, ReviewAdmin):
    """Content review, then the carrier's answers to the filing (one at a time on a signature's
    page, or a whole results file with Import), legacy marking and activation requests."""

    review_kind = reasons.SIGNATURE
    actions = [
        "approve_selected",
        "reject_selected",
        "carrier_approve_selected",
        "carrier_reject_selected",
        "approve_activation_selected",
        "reject_activation_selected",
        "mark_legacy_selected",
    ]
    change_form_template = "admin/templates_app/signature_change_form.html"
    import_template_name = "admin/templates_app/signature_import.html"
    resource_classes = [CarrierResultResource]
    formats = [base_formats.CSV, base_formats.XLSX]
    list_display = [
        "__str__",
        "urged",
        "account",
        "application",
        "type",
        "source",
        "qualification_with_status",
        "status",
        "channel_number",
        "submitted_at",
    ]
    list_filter = [SignatureStatusFilter, "type", "source", "application__account"]
    list_select_related = ["application__account", "qualification"]
    search_fields = ["name", "channel_number", "application__name", "application__account__name"]
    ordering = URGED_THEN_OLDEST
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "account",
                    "application",
                    "type",
                    "source",
                    "description",
                    "status",
                    "urged_at",
                    "submitted_at",
                ]
            },
        ),
        (_("Qualification"), {"fields": ["qualification_with_status", "qualification_documents"]}),
        (_("Review"), {"fields": ["reviewed_by", "reviewed_at", "reason_label", "reason_text"]}),
        (
            _("Carrier"),
            {"fields": ["filed_at", "carrier_answered_at", "carrier_answered_by", "carrier_reason", "channel_number"]},
        ),
        (_("Activation"), {"fields": ["restore_status", "activation_requested_at"]}),
    ]
    readonly_fields = ["account", "qualification_with_status", "qualification_documents", "reason_label"]

    # --- import and export of carrier results -------------------------------------------------

    def has_import_permission(self, request):
        # Recording the carrier's answers is a reviewer's decision, not adding signatures.
        return self.can_review(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_import_data_kwargs(self, **kwargs):
        # A row that no longer fits when the file is confirmed undoes the whole file.
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            problems = [f"{row.number}: {' '.join(row.error.messages)}" for row in result.invalid_rows] + [
                f"{number}: {errors[0].error}" for number, errors in result.row_errors()
            ]
            self.message_user(
                request,
                gettext("Nothing was recorded: these rows changed since the preview. %(rows)s")
                % {"rows": "; ".join(problems)},
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:templates_app_signature_import"))
        return super().process_result(result, request)

    # --- the decisions -----------------------------------------------------------------------

    def _carrier_approve_with(self, request, objects, *, action):
        return self._with_form(
            request,
            objects,
            functools.partial(CarrierApproveForm, several=len(objects) > 1),
            action=action,
            audit_action="carrier_approved",
            apply=lambda obj, data: obj.carrier_approve(request.user, data.get("channel_number", "")),
            done=lambda n: (
                ngettext(
                    "%(count)d signature recorded as approved by the carrier.",
                    "%(count)d signatures recorded as approved by the carrier.",
                    n,
                )
                % {"count": n}
            ),
            title=_("The carrier approved"),
            template="admin/templates_app/decision_form.html",
            intro=_("Record that the carrier approved the filing: the signature can send from now on."),
            submit_label=_("Record the approval"),
        )

    def _carrier_reject_with(self, request, objects, *, action):
        return self._with_form(
            request,
            objects,
            CarrierRejectForm,
            action=action,
            audit_action="carrier_rejected",
            apply=lambda obj, data: obj.carrier_reject(request.user, data["carrier_reason"]),
            done=lambda n: (
                ngettext(
                    "%(count)d signature recorded as rejected by the carrier.",
                    "%(count)d signatures recorded as rejected by the carrier.",
                    n,
                )
                % {"count": n}
            ),
            title=_("The carrier rejected"),
            template="admin/templates_app/decision_form.html",
            intro=_(
                "Record that the carrier refused the filing. The applicant is told the carrier's reason and may "
                "correct the signature and submit it again."
            ),
            submit_label=_("Record the rejection"),
        )

    def _approve_activation(self, request, objects):
        done = self._decide(
            request,
            objects,
            "activation_approved",
            lambda obj: obj.approve_activation(request.user),
            result="activated",
        )
        if done:
            self.message_user(
                request,
                ngettext("%(count)d signature activated.", "%(count)d signatures activated.", done) % {"count": done},
                messages.SUCCESS,
            )

    def _reject_activation_with(self, request, objects, *, action):
        return self._reject_with(
            request,
            objects,
            action=action,
            kind=reasons.ACTIVATION,
            method="reject_activation",
            audit_action="activation_rejected",
        )

    def _mark_legacy(self, request, objects):
        done = self._decide(request, objects, "mark_legacy", lambda obj: obj.mark_legacy())
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d signature now needs a qualification.",
                    "%(count)d signatures now need a qualification.",
                    done,
                )
                % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(
        description=_("The carrier approved the selected (channel numbers kept or drawn)"), permissions=["change"]
    )
    def carrier_approve_selected(self, request, queryset):
        return self._carrier_approve_with(request, list(queryset), action="carrier_approve_selected")

    @admin.action(description=_("The carrier rejected the selected"), permissions=["change"])
    def carrier_reject_selected(self, request, queryset):
        return self._carrier_reject_with(request, list(queryset), action="carrier_reject_selected")

    @admin.action(description=_("Approve the activation of the selected"), permissions=["change"])
    def approve_activation_selected(self, request, queryset):
        self._approve_activation(request, list(queryset))

    @admin.action(description=_("Reject the activation of the selected"), permissions=["change"])
    def reject_activation_selected(self, request, queryset):
        return self._reject_activation_with(request, list(queryset), action="reject_activation_selected")

    @admin.action(
        description=_("Mark the selected as legacy (created before real-name filing)"), permissions=["change"]
    )
    def mark_legacy_selected(self, request, queryset):
        self._mark_legacy(request, list(queryset))

    # --- per-object buttons --------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/carrier-approve/",
                view(self.carrier_approve_view),
                name="%s_%s_carrier_approve" % info,
            ),
            path(
                "<path:object_id>/carrier-reject/", view(self.carrier_reject_view), name="%s_%s_carrier_reject" % info
            ),
            path(
                "<path:object_id>/activation-approve/",
                view(self.activation_approve_view),
                name="%s_%s_activation_approve" % info,
            ),
            path(
                "<path:object_id>/activation-reject/",
                view(self.activation_reject_view),
                name="%s_%s_activation_reject" % info,
            ),
            path("<path:object_id>/mark-legacy/", view(self.mark_legacy_view), name="%s_%s_mark_legacy" % info),
            *super().get_urls(),
        ]

    def carrier_approve_view(self, request, object_id):
        return self._form_view(
            request, object_id, lambda request, objects: self._carrier_approve_with(request, objects, action=None)
        )

    def carrier_reject_view(self, request, object_id):
        return self._form_view(
            request, object_id, lambda request, objects: self._carrier_reject_with(request, objects, action=None)
        )

    def activation_approve_view(self, request, object_id):
        return self._button_view(request, object_id, self._approve_activation)

    def activation_reject_view(self, request, object_id):
        return self._form_view(
            request, object_id, lambda request, objects: self._reject_activation_with(request, objects, action=None)
        )

    def mark_legacy_view(self, request, object_id):
        return self._button_view(request, object_id, self._mark_legacy)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        reviewer = obj is not None and self.can_review(request)
        context["carrier_answer"] = reviewer and obj.status in CARRIER_REFUSAL
        context["activation_decision"] = reviewer and obj.status == Signature.Status.PENDING_ACTIVATION
        context["can_mark_legacy"] = reviewer and obj.status == Signature.Status.APPROVED
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    # --- columns -------------------------------------------------------------------------------

    @admin.display(description=_("qualification"), ordering="qualification__name")
    def qualification_with_status(self, obj):
        qualification = obj.qualification
        if qualification is None:
            return gettext("None yet (legacy signature)")
        return format_html(
            '<a href="{}">{}</a> ({})',
            reverse("admin:templates_app_qualification_change", args=[qualification.pk]),
            qualification,
            qualification.get_status_display(),
        )

    @admin.display(description=_("qualification documents"))
    def qualification_documents(self, obj):
        return _document_links(obj.qualification) if obj.qualification else ""

    @admin.display(description=_("rejection reason"))
    def reason_label(self, obj):
        return obj.reason_label if obj.reason_code else ""


class TemplateVariableInline(admin.TabularInline):
    model = TemplateVariable
    fields = ["position", "attribute", "max_length", "description"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        # The variables are part of the template a reviewer reads; they carry no permission of their own.
        opts = Template._meta
        return request.user.has_perm(
            f"{opts.app_label}.{get_permission_codename('view', opts)}"
        ) or request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Template)
class TemplateAdmin(ReviewAdmin):
    review_kind = reasons.TEMPLATE
    actions = ["approve_selected", "reject_selected", "deactivate_selected"]
    list_display = [
        "name",
        "urged",
        "account",
        "application",
        "signature_with_status",
        "type",
        "signed_content_with_segments",
        "status",
        "submitted_at",
    ]
    list_filter = [ReviewStatusFilter, "type", "universal", "application__account"]
    list_select_related = ["application__account", "signature"]
    search_fields = ["name", "content", "signature__name", "application__name", "application__account__name"]
    ordering = URGED_THEN_OLDEST
    inlines = [TemplateVariableInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "account",
                    "application",
                    "signature_with_status",
                    "universal",
                    "type",
                    "status",
                    "urged_at",
                    "submitted_at",
                ]
            },
        ),
        (_("Content"), {"fields": ["signed_content_with_segments", "description"]}),
        (_("Review"), {"fields": ["reviewed_by", "reviewed_at", "reason_label", "reason_text"]}),
    ]
    readonly_fields = ["account", "signature_with_status", "signed_content_with_segments", "reason_label"]

    def get_queryset(self, request):
        # Each row's segment count reads the template's variables: one query for the page, not one a row.
        return super().get_queryset(request).prefetch_related("variables")

    @admin.display(description=_("signature"), ordering="signature__name")
    def signature_with_status(self, obj):
        if obj.signature is None:
            return gettext("(universal)")
        return format_html(
            '<a href="{}">{}</a> ({})',
            reverse("admin:templates_app_signature_change", args=[obj.signature_id]),
            obj.signature,
            obj.signature.get_status_display(),
        )

    @admin.display(description=_("signed content"))
    def signed_content_with_segments(self, obj):
        # The figure the operator sees in the console: each variable at its maximum length.
        segments = obj.measure()
        return format_html(
            '<span style="white-space: pre-wrap">{}</span><br><small>{}</small>',
            obj.signed_content,
            gettext(
                "%(length)s characters, %(segment_count)s segment(s), %(encoding)s; variables counted at their "
                "maximum length."
            )
            % {"length": segments.length, "segment_count": segments.segments, "encoding": segments.encoding},
        )

    @admin.display(description=_("rejection reason"))
    def reason_label(self, obj):
        return obj.reason_label if obj.reason_code else ""

    @admin.action(description=_("Deactivate selected"), permissions=["change"])
    def deactivate_selected(self, request, queryset):
        return self._with_form(
            request,
            list(queryset),
            DeactivateForm,
            action="deactivate_selected",
            audit_action="deactivate",
            apply=lambda obj, data: obj.deactivate(request.user, data["reason_text"].strip()),
            done=lambda n: (
                ngettext("%(count)d template deactivated.", "%(count)d templates deactivated.", n) % {"count": n}
            ),
            title=_("Deactivate templates"),
            template="admin/templates_app/deactivate_selected.html",
        )


@admin.register(NotificationContact)
class NotificationContactAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "email",
        "phone",
        "account",
        "notify_qualification",
        "notify_signature",
        "notify_template",
        "notify_traffic",
    ]
    list_filter = ["account"]
    list_select_related = ["account"]
    search_fields = ["name", "email", "phone", "account__name"]
