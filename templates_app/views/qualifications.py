import os

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smsconsole.models import audit
from smsconsole.tenancy import get_scoped_or_404, parse_id, require_membership, require_operator, scoped
from templates_app.forms.qualifications import QualificationForm
from templates_app.models import Qualification

PAGE_SIZE = 50


def _snapshot(qualification):
    return {"name": qualification.name, "status": qualification.status, "purpose": qualification.purpose}


def _stored_documents(qualification):
    return [
        (getattr(qualification, field).storage, getattr(qualification, field).name)
        for field in Qualification.DOCUMENT_FIELDS
        if getattr(qualification, field)
    ]


def _remove_documents_after_commit(documents):
    # ID documents must not outlive their qualification; removal waits for the commit so a
    # rolled-back delete keeps its files.
    def remove():
        for storage, name in documents:
            storage.delete(name)

    transaction.on_commit(remove)


@login_required
def qualification_list(request):
    require_membership(request)
    qualifications = scoped(request, Qualification)
    # ?status= narrows the list (the overview links to the rejected ones).
    if request.GET.get("status") in Qualification.Status.values:
        qualifications = qualifications.filter(status=request.GET["status"])
    page = Paginator(qualifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "templates_app/qualification_list.html",
        {"page": page, "batch_delete_max": settings.SMS_QUALIFICATION_BATCH_DELETE_MAX},
    )


@login_required
def qualification_create(request):
    membership = require_operator(request)
    qualification = Qualification(account=membership.account)
    if request.method == "POST":
        form = QualificationForm(request.POST, request.FILES, instance=qualification)
        if form.is_valid():
            try:
                with transaction.atomic():
                    qualification = form.save(commit=False)
                    qualification.submitted_at = timezone.now()
                    qualification.save()
                    audit(request.user, "create", qualification, after=_snapshot(qualification))
            except IntegrityError:
                # Another request took the name between validation and insert.
                form.add_error("name", _("You already have a qualification with this name."))
            else:
                messages.success(request, _("The qualification was submitted for review."))
                return redirect("templates_app:qualification_detail", pk=qualification.pk)
    else:
        form = QualificationForm(instance=qualification)
    return render(request, "templates_app/qualification_form.html", {"form": form, "qualification": None})


@login_required
def qualification_detail(request, pk):
    require_membership(request)
    qualification = get_scoped_or_404(request, Qualification, pk)
    documents = [
        {
            "field": field,
            "label": Qualification._meta.get_field(field).verbose_name,
            "filename": os.path.basename(getattr(qualification, field).name),
        }
        for field in Qualification.DOCUMENT_FIELDS
        if getattr(qualification, field)
    ]
    return render(
        request, "templates_app/qualification_detail.html", {"qualification": qualification, "documents": documents}
    )


@login_required
def qualification_edit(request, pk):
    require_operator(request)
    qualification = get_scoped_or_404(request, Qualification, pk)
    if not qualification.can_edit:
        messages.error(request, _("Only a rejected qualification can be edited and resubmitted."))
        return redirect("templates_app:qualification_detail", pk=pk)
    before = _snapshot(qualification)
    title = qualification.name
    if request.method == "POST":
        form = QualificationForm(request.POST, request.FILES, instance=qualification)
        if form.is_valid():
            with transaction.atomic():
                form.save()
                qualification.resubmit()
                audit(request.user, "resubmit", qualification, before=before, after=_snapshot(qualification))
            messages.success(request, _("The qualification was resubmitted for review."))
            return redirect("templates_app:qualification_detail", pk=pk)
    else:
        form = QualificationForm(instance=qualification)
    return render(
        request, "templates_app/qualification_form.html", {"form": form, "qualification": qualification, "title": title}
    )


@login_required
def qualification_delete(request, pk):
    require_operator(request)
    qualification = get_scoped_or_404(request, Qualification, pk)
    if not qualification.can_delete:
        messages.error(request, _("Approved or in-review qualifications cannot be deleted."))
        return redirect("templates_app:qualification_detail", pk=pk)
    if request.method == "POST":
        try:
            with transaction.atomic():
                audit(request.user, "delete", qualification, before=_snapshot(qualification))
                documents = _stored_documents(qualification)
                qualification.delete()
                _remove_documents_after_commit(documents)
        except ProtectedError:
            messages.error(
                request,
                _("Signatures use this qualification; delete them or choose another qualification for them first."),
            )
            return redirect("templates_app:qualification_detail", pk=pk)
        messages.success(request, _("The qualification was deleted."))
        return redirect("templates_app:qualification_list")
    return render(request, "templates_app/qualification_confirm_delete.html", {"qualification": qualification})


@login_required
@require_POST
def qualification_batch_delete(request):
    require_operator(request)
    limit = settings.SMS_QUALIFICATION_BATCH_DELETE_MAX
    ids = {pk for pk in map(parse_id, request.POST.getlist("ids")) if pk is not None}
    if len(ids) > limit:
        messages.error(request, _("At most %(n)s qualifications can be deleted at once.") % {"n": limit})
        return redirect("templates_app:qualification_list")
    # Ids of other accounts simply match nothing.
    selected = list(scoped(request, Qualification).filter(pk__in=ids))
    if not selected:
        messages.error(request, _("Select the qualifications to delete."))
        return redirect("templates_app:qualification_list")
    blocked = [q.name for q in selected if not q.can_delete]
    if blocked:
        messages.error(
            request,
            _("Approved or in-review qualifications cannot be deleted: %(names)s. Nothing was deleted.")
            % {"names": ", ".join(blocked)},
        )
        return redirect("templates_app:qualification_list")
    try:
        with transaction.atomic():
            documents = []
            for qualification in selected:
                audit(request.user, "delete", qualification, before=_snapshot(qualification))
                documents += _stored_documents(qualification)
            scoped(request, Qualification).filter(pk__in=[q.pk for q in selected]).delete()
            _remove_documents_after_commit(documents)
    except ProtectedError:
        messages.error(
            request,
            _(
                "Signatures use some of these qualifications; "
                "delete them or choose another qualification first. Nothing was deleted."
            ),
        )
        return redirect("templates_app:qualification_list")
    messages.success(request, _("%(n)s qualifications were deleted.") % {"n": len(selected)})
    return redirect("templates_app:qualification_list")
