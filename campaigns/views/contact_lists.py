import re
import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count, ProtectedError, Q
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from campaigns.contact_forms import ContactForm, ContactListForm, UploadForm
from campaigns.contacts_import import (
    default_region,
    import_contacts,
    problem_message,
    rejected_csv_lines,
    rejected_rows,
    stored_upload,
)
from campaigns.exports import csv_lines, write_xlsx
from campaigns.models import Contact, ContactList, ListImport
from campaigns.numbers import normalise_number
from campaigns.recipient_files import FileProblem
from smsconsole.models import audit
from smsconsole.privacy import audit_console_export, number_display
from smsconsole.tenancy import get_scoped_or_404, parse_id, require_membership, require_operator, scoped

PAGE_SIZE = 50
REJECTED_SHOWN = 500
NUMBER_SEPARATORS = re.compile(r"[\s\-()]")


def _get_list(request, pk):
    return get_scoped_or_404(request, ContactList, pk)


def _get_contact(request, contact_list, contact_pk):
    contact = get_scoped_or_404(request, Contact, contact_pk, account_path="contact_list__account")
    if contact.contact_list_id != contact_list.pk:
        raise Http404
    return contact


def _list_snapshot(contact_list):
    return {"name": contact_list.name, "field_names": contact_list.field_names}


def _contact_snapshot(contact):
    return {"phone": contact.phone, "name": contact.name, "fields": contact.fields}


def number_lookup(query, membership):
    """What a number search matches, or None for a query without digits: any part of the number
    for those who see numbers whole; for those who see them masked only the whole number (else a
    search digit by digit would spell out what the mask hides)."""
    digits = NUMBER_SEPARATORS.sub("", query or "")
    if not digits:
        return None
    if membership.sees_full_numbers:
        return Q(phone__contains=digits)
    phone, error = normalise_number(query, default_region(membership.account))
    return Q(pk__in=[]) if error else Q(phone=phone)


def search_contacts(contacts, query, membership):
    """Narrows `contacts` to those whose number matches the query (number_lookup) or whose name contains it."""
    query = query.strip()
    if not query:
        return contacts
    condition = Q(name__icontains=query)
    number = number_lookup(query, membership)
    if number is not None:
        condition |= number
    return contacts.filter(condition)


@login_required
def list_index(request):
    require_membership(request)
    lists = scoped(request, ContactList).annotate(contact_count=Count("contacts")).order_by("name")
    page = Paginator(lists, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "campaigns/contact_list_index.html", {"page": page, "query": ""})


@login_required
def list_create(request):
    membership = require_operator(request)
    form = ContactListForm(request.POST or None, account=membership.account)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                contact_list = form.save()
                audit(request.user, "create", contact_list, after=_list_snapshot(contact_list))
        except IntegrityError:
            # Another request created a list of the same name in between.
            form.add_error("name", _("Your account already has a contact list with this name."))
        else:
            messages.success(request, _("The contact list was created."))
            return redirect("campaigns:contact_list_detail", pk=contact_list.pk)
    return render(request, "campaigns/contact_list_form.html", {"form": form, "contact_list": None})


@login_required
def list_edit(request, pk):
    membership = require_operator(request)
    contact_list = _get_list(request, pk)
    before = _list_snapshot(contact_list)
    title = contact_list.name
    form = ContactListForm(request.POST or None, instance=contact_list, account=membership.account)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                form.save()
                audit(request.user, "update", contact_list, before=before, after=_list_snapshot(contact_list))
        except IntegrityError:
            form.add_error("name", _("Your account already has a contact list with this name."))
        else:
            messages.success(request, _("The contact list was saved."))
            return redirect("campaigns:contact_list_detail", pk=pk)
    return render(
        request, "campaigns/contact_list_form.html", {"form": form, "contact_list": contact_list, "title": title}
    )


@login_required
def list_detail(request, pk):
    membership = require_membership(request)
    contact_list = _get_list(request, pk)
    query = request.GET.get("q", "")
    contacts = search_contacts(contact_list.contacts.order_by("id"), query, membership)
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(contact, [contact.fields.get(name, "") for name in contact_list.field_names]) for contact in page]
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "campaigns/contact_list_detail.html",
        {
            "contact_list": contact_list,
            "page": page,
            "rows": rows,
            "q": query,
            "query": params.urlencode(),
            "total": contact_list.contacts.count(),
        },
    )


@login_required
def list_delete(request, pk):
    require_operator(request)
    contact_list = _get_list(request, pk)
    if request.method == "POST":
        try:
            with transaction.atomic():
                audit(
                    request.user,
                    "delete",
                    contact_list,
                    before={**_list_snapshot(contact_list), "contacts": contact_list.contacts.count()},
                )
                contact_list.delete()
        except ProtectedError:
            messages.error(
                request, _("Campaigns have been sent to this contact list, so it is kept for their records.")
            )
            return redirect("campaigns:contact_list_detail", pk=contact_list.pk)
        messages.success(request, _("The contact list was deleted."))
        return redirect("campaigns:contact_list_index")
    return render(
        request,
        "campaigns/contact_list_confirm_delete.html",
        {"contact_list": contact_list, "total": contact_list.contacts.count()},
    )


def stored_result(request, queryset):
    """The ListImport named by ?result= or ?rejected=, within `queryset` (the request's account and
    target), or None when the request names none."""
    raw = request.GET.get("result", request.GET.get("rejected"))
    if raw is None:
        return None
    pk = parse_id(raw)
    result = queryset.filter(pk=pk).first() if pk is not None else None
    if result is None:
        raise Http404
    return result


def result_response(request, result, template, filename, context):
    """The result page of a list import, or with ?rejected= its rejected rows as CSV.

    Operators only (the import pages are theirs), who see numbers whole."""
    if "rejected" in request.GET:
        audit_console_export(
            request,
            require_operator(request),
            result,
            what="rejected_rows",
            rows=result.rejected_rows.count(),
            file_format="csv",
        )
        response = StreamingHttpResponse(rejected_csv_lines(result), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response
    rejected = list(rejected_rows(result, REJECTED_SHOWN))
    return render(request, template, {**context, "result": result, "rejected": rejected, "shown": REJECTED_SHOWN})


def import_audit_entry(result):
    return {
        "file": result.original_name,
        "rows": result.rows,
        "added": result.added,
        "existing": result.existing,
        "rejected": result.rejected,
    }


@login_required
def list_import(request, pk):
    """Upload form; after an upload, its stored result (?result=ID) and rejected rows (?rejected=ID)."""
    membership = require_operator(request)
    contact_list = _get_list(request, pk)
    if request.method == "GET":
        results = ListImport.objects.filter(account=membership.account, contact_list=contact_list)
        result = stored_result(request, results)
        if result is not None:
            return result_response(
                request,
                result,
                "campaigns/contact_list_import_result.html",
                f"{contact_list.name}-rejected.csv",
                {"contact_list": contact_list},
            )
    form = UploadForm(request.POST or None, request.FILES or None, region=default_region(membership.account))
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            with stored_upload(upload) as path:
                result = import_contacts(contact_list, path, upload.name, form.cleaned_data["region"], request.user)
        except FileProblem as problem:
            form.add_error("file", problem_message(problem))
        else:
            audit(request.user, "import_contacts", contact_list, after=import_audit_entry(result))
            return redirect(f"{request.path}?result={result.pk}")
    return render(request, "campaigns/contact_list_import.html", {"contact_list": contact_list, "form": form})


def export_response(fmt, filename, header, rows):
    """A download of `rows` as CSV (streamed) or XLSX (written to a temporary file), formula-safe."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, f"{filename}-{stamp}.csv")
        return response
    if fmt == "xlsx":
        # A temporary file rather than memory: lists can be large. FileResponse closes (and so removes) it.
        handle = tempfile.TemporaryFile()
        write_xlsx(handle, header, rows)
        handle.seek(0)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"{filename}-{stamp}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    raise Http404


@login_required
def list_export(request, pk, fmt):
    membership = require_membership(request)
    contact_list = _get_list(request, pk)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    field_names = list(contact_list.field_names)
    header = [_("Number"), _("Name"), *field_names]
    contacts = contact_list.contacts.order_by("id")
    # Recorded before the rows stream: a download the reader breaks off was still handed out.
    audit_console_export(request, membership, contact_list, what="contacts", rows=contacts.count(), file_format=fmt)
    show = number_display(membership)
    rows = (
        [show(phone), name, *[(fields or {}).get(field_name, "") for field_name in field_names]]
        for phone, name, fields in contacts.values_list("phone", "name", "fields").iterator(chunk_size=2000)
    )
    return export_response(fmt, contact_list.name, header, rows)


@login_required
def contact_create(request, pk):
    membership = require_operator(request)
    contact_list = _get_list(request, pk)
    form = ContactForm(request.POST or None, contact_list=contact_list, region=default_region(membership.account))
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                contact = form.save()
                audit(request.user, "create", contact, after=_contact_snapshot(contact), account=membership.account)
        except IntegrityError:
            form.add_error("phone", _("This number is already in this list."))
        else:
            messages.success(request, _("The contact was added."))
            if "add_another" in request.POST:
                return redirect("campaigns:contact_create", pk=pk)
            return redirect("campaigns:contact_list_detail", pk=pk)
    return render(request, "campaigns/contact_form.html", {"form": form, "contact_list": contact_list, "contact": None})


@login_required
def contact_edit(request, pk, contact_pk):
    membership = require_operator(request)
    contact_list = _get_list(request, pk)
    contact = _get_contact(request, contact_list, contact_pk)
    before = _contact_snapshot(contact)
    form = ContactForm(
        request.POST or None, contact_list=contact_list, instance=contact, region=default_region(membership.account)
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                form.save()
                audit(
                    request.user,
                    "update",
                    contact,
                    before=before,
                    after=_contact_snapshot(contact),
                    account=membership.account,
                )
        except IntegrityError:
            form.add_error("phone", _("This number is already in this list."))
        else:
            messages.success(request, _("The contact was saved."))
            return redirect("campaigns:contact_list_detail", pk=pk)
    return render(
        request, "campaigns/contact_form.html", {"form": form, "contact_list": contact_list, "contact": contact}
    )


@login_required
def contact_delete(request, pk, contact_pk):
    membership = require_operator(request)
    contact_list = _get_list(request, pk)
    contact = _get_contact(request, contact_list, contact_pk)
    if request.method == "POST":
        with transaction.atomic():
            audit(request.user, "delete", contact, before=_contact_snapshot(contact), account=membership.account)
            contact.delete()
        messages.success(request, _("The contact was deleted."))
        return redirect("campaigns:contact_list_detail", pk=pk)
    return render(request, "campaigns/contact_confirm_delete.html", {"contact_list": contact_list, "contact": contact})
