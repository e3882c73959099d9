from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smsconsole.models import Application, TransitionError, audit
from smsconsole.tenancy import get_scoped_or_404, require_membership, require_operator, scoped
from templates_app.forms.signatures import SignatureFilterForm, SignatureForm
from templates_app.models import Qualification, Signature

PAGE_SIZE = 50


def _get_signature(request, pk):
    return get_scoped_or_404(request, Signature, pk, account_path="application__account")


def _form(request, *args, **kwargs):
    return SignatureForm(
        *args,
        applications=scoped(request, Application),
        qualifications=scoped(request, Qualification),
        **kwargs,
    )


def _snapshot(signature):
    return {
        "name": signature.name,
        "type": signature.type,
        "status": signature.status,
        "qualification": signature.qualification_id,
    }


@login_required
def signature_list(request):
    require_membership(request)
    filters = SignatureFilterForm(request.GET or None, applications=scoped(request, Application))
    signatures = filters.apply(
        scoped(request, Signature, account_path="application__account").select_related("application", "qualification")
    )
    page = Paginator(signatures, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "templates_app/signature_list.html",
        {"page": page, "filters": filters, "query": query.urlencode()},
    )


@login_required
def signature_create(request):
    require_operator(request)
    if request.method == "POST":
        form = _form(request, request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    signature = form.save(commit=False)
                    signature.submitted_at = timezone.now()
                    signature.save()
                    audit(request.user, "create", signature, after=_snapshot(signature))
            except IntegrityError:
                # Another request registered the same name and type in between.
                form.add_error("name", _("This application already has a signature with this name and type."))
            else:
                messages.success(request, _("The signature was submitted for review."))
                return redirect("templates_app:signature_detail", pk=signature.pk)
    else:
        form = _form(request, initial={"application": request.GET.get("application")})
    return render(request, "templates_app/signature_form.html", {"form": form, "signature": None})


@login_required
def signature_detail(request, pk):
    require_membership(request)
    signature = _get_signature(request, pk)
    return render(request, "templates_app/signature_detail.html", {"signature": signature})


@login_required
def signature_edit(request, pk):
    require_operator(request)
    signature = _get_signature(request, pk)
    if not signature.can_edit:
        messages.error(request, _("Only a rejected signature can be edited and resubmitted."))
        return redirect("templates_app:signature_detail", pk=pk)
    before = _snapshot(signature)
    title = str(signature)
    if request.method == "POST":
        form = _form(request, request.POST, instance=signature)
        if form.is_valid():
            try:
                with transaction.atomic():
                    form.save()
                    signature.resubmit()
                    audit(request.user, "resubmit", signature, before=before, after=_snapshot(signature))
            except IntegrityError:
                form.add_error("name", _("This application already has a signature with this name and type."))
            else:
                messages.success(request, _("The signature was resubmitted for review."))
                return redirect("templates_app:signature_detail", pk=pk)
    else:
        form = _form(request, instance=signature)
    return render(request, "templates_app/signature_form.html", {"form": form, "signature": signature, "title": title})


@login_required
@require_POST
def signature_urge(request, pk):
    require_operator(request)
    signature = _get_signature(request, pk)
    try:
        signature.urge()
    except TransitionError as error:
        messages.error(request, error.messages[0])
    else:
        audit(request.user, "urge", signature, after={"urged_at": signature.urged_at.isoformat()})
        messages.success(request, _("The review of %(signature)s was urged.") % {"signature": signature})
    return redirect("templates_app:signature_detail", pk=pk)


@login_required
def signature_delete(request, pk):
    require_operator(request)
    signature = _get_signature(request, pk)
    if not signature.can_delete:
        messages.error(request, _("A signature in review cannot be deleted."))
        return redirect("templates_app:signature_detail", pk=pk)
    if request.method == "POST":
        try:
            with transaction.atomic():
                audit(request.user, "delete", signature, before=_snapshot(signature))
                signature.delete()
        except ProtectedError:
            messages.error(request, _("Templates use this signature; delete those templates first."))
            return redirect("templates_app:signature_detail", pk=pk)
        messages.success(request, _("The signature was deleted."))
        return redirect("templates_app:signature_list")
    return render(request, "templates_app/signature_confirm_delete.html", {"signature": signature})
