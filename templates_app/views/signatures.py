from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count, ProtectedError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smsconsole.models import Application, TransitionError, audit
from smsconsole.tenancy import get_scoped_or_404, require_membership, require_operator, scoped
from templates_app.forms.signatures import AttachQualificationForm, SignatureFilterForm, SignatureForm
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
    waiting = scoped(request, Signature, account_path="application__account").filter(
        status__in=[
            Signature.Status.LEGACY_UNQUALIFIED,
            Signature.Status.LEGACY_FILING_FAILED,
            Signature.Status.TO_BE_ACTIVATED,
        ]
    )
    attention = dict(waiting.order_by().values_list("status").annotate(n=Count("pk")))
    return render(
        request,
        "templates_app/signature_list.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "needing_qualification": attention.get(Signature.Status.LEGACY_UNQUALIFIED, 0)
            + attention.get(Signature.Status.LEGACY_FILING_FAILED, 0),
            "to_be_activated": attention.get(Signature.Status.TO_BE_ACTIVATED, 0),
        },
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
            to_the_carrier = form.for_the_carrier
            try:
                with transaction.atomic():
                    form.save()
                    signature.resubmit()
                    audit(request.user, "resubmit", signature, before=before, after=_snapshot(signature))
            except IntegrityError:
                form.add_error("name", _("This application already has a signature with this name and type."))
            else:
                messages.success(
                    request,
                    _("The signature was filed with the carrier again.")
                    if to_the_carrier
                    else _("The signature was resubmitted for review."),
                )
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
        messages.error(
            request, _("A signature waiting for an answer (review, carrier filing or activation) cannot be deleted.")
        )
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


@login_required
def signature_attach_qualification(request, pk):
    """Back-filling: a legacy signature gets its owner's qualification and goes through the filing."""
    require_operator(request)
    signature = _get_signature(request, pk)
    if not signature.needs_qualification:
        messages.error(request, _("Only a legacy signature waiting for its qualification can have one attached."))
        return redirect("templates_app:signature_detail", pk=pk)
    form = AttachQualificationForm(request.POST or None, qualifications=scoped(request, Qualification))
    if request.method == "POST" and form.is_valid():
        before = _snapshot(signature)
        try:
            with transaction.atomic():
                signature.attach_qualification(form.cleaned_data["qualification"])
                audit(request.user, "attach_qualification", signature, before=before, after=_snapshot(signature))
        except TransitionError as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(
                request, _("The qualification was attached; the signature keeps sending while it is filed.")
            )
        return redirect("templates_app:signature_detail", pk=pk)
    return render(request, "templates_app/signature_qualification_form.html", {"signature": signature, "form": form})


@login_required
@require_POST
def signature_request_activation(request, pk):
    require_operator(request)
    signature = _get_signature(request, pk)
    try:
        with transaction.atomic():
            signature.request_activation()
            audit(
                request.user,
                "request_activation",
                signature,
                before={"status": Signature.Status.TO_BE_ACTIVATED},
                after={"status": signature.status},
            )
    except TransitionError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("The activation was requested; staff review it."))
    return redirect("templates_app:signature_detail", pk=pk)
