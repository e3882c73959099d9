"""Console pages for message templates (模板): list, application form with live preview, detail and
the state actions. Every query goes through smsconsole.tenancy."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from sms import text
from smsconsole.models import TransitionError, audit
from smsconsole.tenancy import parse_id, require_membership, require_operator, scoped
from templates_app import rules
from templates_app.forms.templates import TemplateFilterForm, TemplateForm, problem_message, variable_field_name
from templates_app.models import Signature, Template, TemplateVariable

PAGE_SIZE = 50
ACCOUNT_PATH = "application__account"


def _templates(request):
    return scoped(request, Template, account_path=ACCOUNT_PATH)


def _get_template(request, pk):
    template = _templates(request).select_related("application", "signature").filter(pk=pk).first()
    if template is None:
        raise Http404
    return template


def _scoped_signature(request, raw_id):
    """The account's signature with that id, or None: another account's id reveals nothing."""
    pk = parse_id(raw_id)
    if pk is None:
        return None
    return scoped(request, Signature, account_path=ACCOUNT_PATH).filter(pk=pk).first()


def _snapshot(template):
    return {
        "status": template.status,
        "name": template.name,
        "type": template.type,
        "universal": template.universal,
        "signature": template.signature_id,
        "content": template.content,
        "variables": [[v.attribute, v.max_length] for v in template.variables.all()],
    }


# --- Preview -----------------------------------------------------------------------------------


def _preview(content, template_type, signature, found, variable_settings):
    """What the preview partial shows for the text typed so far."""
    signature_name = signature.name if signature else None
    lengths = [max_length for _attribute, max_length, _description in variable_settings]
    problems = []
    if content.strip():
        # Until a type is chosen, only the rules common to every type can be checked.
        checked_type = template_type if template_type in rules.TEMPLATE_TYPES else "notification"
        pairs = [(attribute, max_length) for attribute, max_length, _description in variable_settings]
        problems = [problem_message(p) for p in rules.validate_template(content, checked_type, pairs, signature_name)]
    attribute_labels = dict(TemplateVariable.Attribute.choices)
    return {
        "content": content,
        "signature": signature,
        "pieces": text.runs(content),
        "segments": text.count_template(text.split(content, signature_name), lengths),
        "variables": [
            {
                "index": v.index,
                "text": f"${{{v.label}}}",
                "attribute": attribute_labels.get(attribute, attribute),
                "max_length": max_length,
            }
            for v, (attribute, max_length, _description) in zip(found, variable_settings)
        ],
        "problems": problems,
    }


def _form_preview(request, form):
    if form.is_bound:
        universal = form.data.get("universal") in ("on", "true", "True", "1")
        signature = None if universal else _scoped_signature(request, form.data.get("signature"))
    else:
        signature = form.instance.signature if form.instance.pk and form.instance.signature_id else None
    preview = _preview(
        form.raw_value("content") or "", form.template_type, signature, form.found_variables, form.variable_settings
    )
    # What saving would refuse about the signature, said before saving rather than after.
    if signature is not None and form.current_application is not None and preview["content"].strip():
        if signature.application_id != form.current_application.pk:
            preview["problems"].insert(0, _("Choose a signature of the template's application."))
        elif form.template_type in rules.TEMPLATE_TYPES and signature.type != form.template_type:
            preview["problems"].insert(0, _("The signature must be of the same type as the template."))
    return preview


def _labels_changed(data, found):
    posted = []
    position = 1
    while (label := data.get(variable_field_name(position, "label"))) is not None:
        posted.append(label)
        position += 1
    return posted != [v.label for v in found]


@login_required
@require_POST
def template_preview(request):
    """Renders the preview of a form being typed; never saves anything. Only operators type
    templates, so only they may have one previewed."""
    membership = require_operator(request)
    form = TemplateForm(request.POST, account=membership.account)
    context = {
        "preview": _form_preview(request, form),
        "form": form,
        # Variable rows are replaced only when the set of variables changed, so values being
        # typed in them are not swapped away under the cursor.
        "variables_oob": _labels_changed(request.POST, form.found_variables),
    }
    return render(request, "templates_app/_template_preview.html", context)


@login_required
def template_signature_options(request):
    """The signature field for the application chosen in the template form (htmx)."""
    membership = require_operator(request)
    form = TemplateForm(initial=request.GET.dict(), account=membership.account)
    return render(request, "templates_app/_template_field.html", {"field": form["signature"]})


# --- List and batch delete ---------------------------------------------------------------------


@login_required
def template_list(request):
    membership = require_membership(request)
    filters = TemplateFilterForm(request.GET or None)
    queryset = (
        filters.filter(_templates(request))
        .select_related("signature")
        .prefetch_related("variables")
        .order_by("-created_at", "-id")
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"template": t, "segments": t.measure()} for t in page]
    return render(
        request,
        "templates_app/template_list.html",
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "can_change": membership.can_edit,
            "batch_delete_max": settings.SMS_TEMPLATE_BATCH_DELETE_MAX,
        },
    )


def _delete(request, templates):
    """Deletes the templates with an audit entry each; returns False when something refers to them."""
    try:
        with transaction.atomic():
            for template in templates:
                audit(request.user, "template.delete", template, before=_snapshot(template))
            Template.objects.filter(pk__in=[t.pk for t in templates]).delete()
    except (ProtectedError, RestrictedError):
        messages.error(request, _("Nothing was deleted: a campaign still uses one of these templates."))
        return False
    return True


@login_required
@require_POST
def template_batch_delete(request):
    require_operator(request)
    ids = sorted({pk for pk in map(parse_id, request.POST.getlist("ids")) if pk is not None})
    limit = settings.SMS_TEMPLATE_BATCH_DELETE_MAX
    if not ids:
        messages.error(request, _("Select the templates to delete."))
        return redirect("templates_app:template_list")
    if len(ids) > limit:
        messages.error(
            request,
            _("At most %(limit)s templates can be deleted at once; %(count)s were selected.")
            % {"limit": limit, "count": len(ids)},
        )
        return redirect("templates_app:template_list")
    templates = list(
        _templates(request).filter(pk__in=ids).select_related("application__account").prefetch_related("variables")
    )
    if len(templates) != len(ids):
        raise Http404
    pending = [t.name for t in templates if not t.can_delete]
    if pending:
        messages.error(
            request,
            _("Nothing was deleted: templates pending review cannot be deleted (withdraw them first): %(names)s.")
            % {"names": ", ".join(pending)},
        )
        return redirect("templates_app:template_list")
    if _delete(request, templates):
        messages.success(
            request,
            ngettext("%(count)s template deleted.", "%(count)s templates deleted.", len(templates))
            % {"count": len(templates)},
        )
    return redirect("templates_app:template_list")


# --- Create and edit ---------------------------------------------------------------------------


def _render_form(request, form, template=None):
    return render(
        request,
        "templates_app/template_form.html",
        {
            "form": form,
            "template": template,
            "preview": _form_preview(request, form),
        },
    )


def _save(request, form, action, before=None):
    """Saves a valid form (and submits it when asked); returns the template or None on refusal."""
    submit = request.POST.get("submit_for_review") is not None
    try:
        with transaction.atomic():
            template = form.save()
            audit(request.user, action, template, before=before, after=_snapshot(template))
            if submit:
                before_submit = template.status
                template.submit()
                audit(
                    request.user,
                    "template.submit",
                    template,
                    before={"status": before_submit},
                    after={"status": template.status},
                )
    except (TransitionError, ValidationError) as error:
        form.add_error(None, error)
        return None
    if submit:
        messages.success(request, _("Template “%(name)s” submitted for review.") % {"name": template.name})
    else:
        messages.success(request, _("Template “%(name)s” saved.") % {"name": template.name})
    return template


@login_required
def template_create(request):
    membership = require_operator(request)
    if request.method == "POST":
        form = TemplateForm(request.POST, account=membership.account)
        if form.is_valid() and (template := _save(request, form, "template.create")):
            return redirect("templates_app:template_detail", pk=template.pk)
    else:
        # The form picks the only application itself; ?application= (from an application's page) too.
        form = TemplateForm(account=membership.account, initial={"application": request.GET.get("application", "")})
    return _render_form(request, form)


@login_required
def template_edit(request, pk):
    membership = require_operator(request)
    template = _get_template(request, pk)
    if not template.can_edit:
        messages.error(
            request, _("A template that is “%(status)s” cannot be edited.") % {"status": template.get_status_display()}
        )
        return redirect("templates_app:template_detail", pk=template.pk)
    if request.method == "POST":
        before = _snapshot(template)
        form = TemplateForm(request.POST, instance=template, account=membership.account)
        if form.is_valid() and _save(request, form, "template.edit", before=before):
            return redirect("templates_app:template_detail", pk=template.pk)
    else:
        form = TemplateForm(instance=template, account=membership.account)
    return _render_form(request, form, template)


# --- Detail and actions ------------------------------------------------------------------------


@login_required
def template_detail(request, pk):
    membership = require_membership(request)
    template = _get_template(request, pk)
    variables = list(template.variables.all())
    labels = {v.index: v.label for v in text.find_variables(template.content)}
    return render(
        request,
        "templates_app/template_detail.html",
        {
            "template": template,
            "variables": [{"row": v, "text": f"${{{labels.get(v.position, v.position)}}}"} for v in variables],
            "segments": template.measure(),
            "can_change": membership.can_edit,
        },
    )


def _transition(request, pk, method, action, success):
    require_operator(request)
    template = _get_template(request, pk)
    before = template.status
    try:
        with transaction.atomic():
            method(template)
            audit(request.user, action, template, before={"status": before}, after={"status": template.status})
    except TransitionError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, success)
    return redirect("templates_app:template_detail", pk=template.pk)


def _submit(template):
    # The rules may have changed since the draft was saved; a template failing them is refused.
    pairs = [(v.attribute, v.max_length) for v in template.variables.all()]
    signature_name = template.signature.name if template.signature_id else None
    problems = rules.validate_template(template.content, template.type, pairs, signature_name)
    if problems:
        raise TransitionError([_("Edit the template before submitting it:")] + [problem_message(p) for p in problems])
    template.submit()


@login_required
@require_POST
def template_submit(request, pk):
    return _transition(request, pk, _submit, "template.submit", _("Template submitted for review."))


@login_required
@require_POST
def template_withdraw(request, pk):
    return _transition(
        request, pk, Template.withdraw, "template.withdraw", _("Template withdrawn; it is a draft again.")
    )


@login_required
@require_POST
def template_urge(request, pk):
    return _transition(
        request, pk, Template.urge, "template.urge", _("Review urged: the template moves to the front of the queue.")
    )


@login_required
@require_POST
def template_delete(request, pk):
    require_operator(request)
    template = _get_template(request, pk)
    if not template.can_delete:
        messages.error(request, _("A template pending review cannot be deleted; withdraw it first."))
        return redirect("templates_app:template_detail", pk=template.pk)
    if not _delete(request, [template]):
        return redirect("templates_app:template_detail", pk=template.pk)
    messages.success(request, _("Template “%(name)s” deleted.") % {"name": template.name})
    return redirect("templates_app:template_list")
