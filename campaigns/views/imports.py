import io
import os
import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import uploads
from campaigns.campaign_forms import group_send_templates
from campaigns.exports import csv_lines, write_xlsx
from campaigns.import_forms import ImportForm
from campaigns.models import RecipientImport
from smsconsole.models import Application, TransitionError, audit
from smsconsole.privacy import audit_console_export, number_display
from smsconsole.tenancy import get_scoped_or_404, parse_id, require_membership, require_operator, scoped
from templates_app.models import Template

PAGE_SIZE = 50
FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _get_import(request, pk):
    imports = scoped(request, RecipientImport).select_related("application", "template", "created_by")
    obj = imports.filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def _active_templates(request):
    return group_send_templates(scoped(request, Template, account_path="application__account"))


def _layout_context(template):
    return {
        "chosen": template,
        "max_rows": settings.SMS_IMPORT_MAX_ROWS,
        "max_bytes": settings.SMS_IMPORT_MAX_BYTES,
    }


def _csv_response(lines, filename, streaming=False):
    response = StreamingHttpResponse(lines) if streaming else HttpResponse("".join(lines))
    response["Content-Type"] = "text/csv; charset=utf-8"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@login_required
def import_list(request):
    require_membership(request)
    # Uploaded files only: recipients prepared from a contact list belong to their campaign.
    imports = (
        scoped(request, RecipientImport).filter(contact_list__isnull=True).select_related("application", "template")
    )
    page = Paginator(imports, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "campaigns/import_list.html", {"page": page})


@login_required
def import_create(request):
    membership = require_operator(request)
    templates = _active_templates(request)
    applications = scoped(request, Application)
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, applications=applications, templates=templates)
        if form.is_valid():
            data = form.cleaned_data
            try:
                recipient_import = uploads.start_import(membership, data["application"], data["template"], data["file"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("The file was uploaded."))
                return redirect("campaigns:import_detail", pk=recipient_import.pk)
        chosen = form.cleaned_data.get("template")
    else:
        pk = parse_id(request.GET.get("template"))
        chosen = templates.select_related("application").filter(pk=pk).first() if pk is not None else None
        if request.headers.get("HX-Request"):
            return render(request, "campaigns/_import_layout.html", _layout_context(chosen))
        initial = {"template": chosen, "application": chosen.application if chosen else None}
        form = ImportForm(initial=initial, applications=applications, templates=templates)
    return render(request, "campaigns/import_create.html", {"form": form, **_layout_context(chosen)})


@login_required
def import_sample(request, template_pk, fmt):
    require_membership(request)
    template = get_scoped_or_404(request, Template, template_pk, account_path="application__account")
    if fmt not in FORMATS:
        raise Http404
    header, rows = uploads.sample_rows(template)
    filename = f"sample-{template.pk}.{fmt}"
    if fmt == "csv":
        return _csv_response(csv_lines(header, rows), filename)
    buffer = io.BytesIO()
    write_xlsx(buffer, header, rows)
    return HttpResponse(
        buffer.getvalue(),
        content_type=XLSX_TYPE,
        headers={"Content-Disposition": content_disposition_header(True, filename)},
    )


@login_required
def import_detail(request, pk):
    membership = require_membership(request)
    recipient_import = _get_import(request, pk)
    context = uploads.status_context(recipient_import, number_display(membership))
    return render(request, "campaigns/import_detail.html", context)


@login_required
def import_progress(request, pk):
    membership = require_membership(request)
    recipient_import = get_scoped_or_404(request, RecipientImport, pk)
    context = uploads.status_context(recipient_import, number_display(membership))
    return render(request, "campaigns/_import_status.html", context)


@login_required
@require_POST
def import_cancel(request, pk):
    require_operator(request)
    recipient_import = get_scoped_or_404(request, RecipientImport, pk)
    try:
        recipient_import.cancel()
    except TransitionError as error:
        messages.error(request, error.messages[0])
    else:
        audit(request.user, "cancel", recipient_import)
        messages.success(request, _("The import was cancelled; none of its rows were kept."))
    return redirect("campaigns:import_detail", pk=pk)


@login_required
def import_rejected_download(request, pk, fmt):
    membership = require_membership(request)
    recipient_import = _get_import(request, pk)
    if fmt not in FORMATS or recipient_import.status != RecipientImport.Status.COMPLETED:
        raise Http404
    # Recorded before the rows stream: a download the reader breaks off was still handed out.
    audit_console_export(
        request,
        membership,
        recipient_import,
        what="rejected_rows",
        rows=recipient_import.rejected_rows.count(),
        file_format=fmt,
    )
    header, rows = uploads.rejected_rows_export(recipient_import, number_display(membership))
    filename = f"{os.path.splitext(recipient_import.original_name)[0]}-rejected.{fmt}"
    if fmt == "csv":
        return _csv_response(csv_lines(header, rows), filename, streaming=True)
    # Written to disk, not memory: a file of 1,000,000 bad rows is tens of megabytes.
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    write_xlsx(handle, header, rows)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
