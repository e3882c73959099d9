from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.contact_forms import OptOutForm, OptOutKeywordsForm, UploadForm
from campaigns.contacts_import import default_region, import_opt_outs, problem_message, stored_upload
from campaigns.models import ListImport, OptOut
from campaigns.recipient_files import FileProblem
from campaigns.views.contact_lists import (
    export_response,
    import_audit_entry,
    number_lookup,
    result_response,
    stored_result,
)
from sms import optout
from smsconsole.models import Account, audit
from smsconsole.privacy import audit_console_export, number_display
from smsconsole.tenancy import get_scoped_or_404, require_membership, require_operator, scoped

PAGE_SIZE = 50


def _snapshot(opt_out):
    return {"phone": opt_out.phone, "source": opt_out.source, "note": opt_out.note}


def search_opt_outs(opt_outs, query, membership):
    number = number_lookup(query, membership)
    return opt_outs.filter(number) if number is not None else opt_outs


@login_required
def opt_out_list(request):
    membership = require_membership(request)
    query = request.GET.get("q", "")
    opt_outs = search_opt_outs(scoped(request, OptOut).order_by("-created_at", "-id"), query, membership)
    page = Paginator(opt_outs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    keywords = membership.account.opt_out_keywords or list(optout.DEFAULT_KEYWORDS)
    return render(
        request,
        "campaigns/opt_out_list.html",
        {"page": page, "q": query, "query": params.urlencode(), "keywords": keywords},
    )


@login_required
def opt_out_keywords(request):
    """The account's opt-out keywords: its own list replaces the defaults (sms.optout)."""
    membership = require_operator(request)
    account = membership.account
    form = OptOutKeywordsForm(request.POST or None, initial={"keywords": ", ".join(account.opt_out_keywords)})
    if request.method == "POST" and form.is_valid():
        before = {"opt_out_keywords": account.opt_out_keywords}
        keywords = form.cleaned_data["keywords"]
        with transaction.atomic():
            Account.objects.filter(pk=account.pk).update(opt_out_keywords=keywords)
            audit(request.user, "change_opt_out_keywords", account, before=before, after={"opt_out_keywords": keywords})
        messages.success(request, _("The opt-out keywords were saved."))
        return redirect("campaigns:opt_out_list")
    return render(request, "campaigns/opt_out_keywords.html", {"form": form})


@login_required
def opt_out_create(request):
    membership = require_operator(request)
    form = OptOutForm(request.POST or None, account=membership.account, region=default_region(membership.account))
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                opt_out = form.save()
                audit(request.user, "create", opt_out, after=_snapshot(opt_out))
        except IntegrityError:
            # Added by another request (or a reply) in between.
            form.add_error("phone", _("This number is already on the opt-out list."))
        else:
            messages.success(request, _("%(phone)s was added to the opt-out list.") % {"phone": opt_out.phone})
            return redirect("campaigns:opt_out_list")
    return render(request, "campaigns/opt_out_form.html", {"form": form})


@login_required
def opt_out_delete(request, pk):
    require_operator(request)
    opt_out = get_scoped_or_404(request, OptOut, pk)
    if request.method == "POST":
        with transaction.atomic():
            audit(request.user, "delete", opt_out, before=_snapshot(opt_out))
            opt_out.delete()
        messages.success(request, _("%(phone)s was removed from the opt-out list.") % {"phone": opt_out.phone})
        return redirect("campaigns:opt_out_list")
    return render(request, "campaigns/opt_out_confirm_delete.html", {"opt_out": opt_out})


@login_required
def opt_out_import(request):
    """Upload form; after an upload, its stored result (?result=ID) and rejected rows (?rejected=ID)."""
    membership = require_operator(request)
    account = membership.account
    if request.method == "GET":
        result = stored_result(request, ListImport.objects.filter(account=account, kind=ListImport.Kind.OPT_OUTS))
        if result is not None:
            return result_response(request, result, "campaigns/opt_out_import_result.html", "opt-outs-rejected.csv", {})
    form = UploadForm(request.POST or None, request.FILES or None, region=default_region(account))
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            with stored_upload(upload) as path:
                result = import_opt_outs(account, path, upload.name, form.cleaned_data["region"], request.user)
        except FileProblem as problem:
            form.add_error("file", problem_message(problem))
        else:
            # A bulk change of the account's list: the audit entry is about the account, with the counts.
            audit(request.user, "import_opt_outs", account, account=account, after=import_audit_entry(result))
            return redirect(f"{request.path}?result={result.pk}")
    return render(request, "campaigns/opt_out_import.html", {"form": form})


@login_required
def opt_out_export(request, fmt):
    membership = require_membership(request)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    sources = dict(OptOut.Source.choices)
    opt_outs = scoped(request, OptOut).order_by("-created_at", "-id")
    # Recorded before the rows stream: a download the reader breaks off was still handed out.
    audit_console_export(
        request, membership, membership.account, what="opt_outs", rows=opt_outs.count(), file_format=fmt
    )
    show = number_display(membership)
    header = [_("Number"), _("Source"), _("Note"), _("Added at")]
    values = opt_outs.values_list("phone", "source", "note", "created_at")
    rows = (
        # In the account's time zone, as the page shows it (the middleware activated it).
        [
            show(phone),
            str(sources.get(source, source)),
            note,
            timezone.localtime(created_at).isoformat(timespec="seconds"),
        ]
        for phone, source, note, created_at in values.iterator(chunk_size=2000)
    )
    return export_response(fmt, _("opt-outs"), header, rows)
