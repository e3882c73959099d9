"""Starting a recipient import from an upload, the sample file per template, and the rejected-rows export."""

import os
from urllib.parse import urlencode

import phonenumbers
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns import import_reasons
from campaigns.importer import count_lines
from campaigns.models import RecipientImport
from campaigns.numbers import normalise_number
from campaigns.recipient_files import FileProblem, check_extension
from campaigns.tasks import import_recipients
from smsconsole.models import audit
from smsconsole.upload_limits import too_large


def check_upload(uploaded_file):
    """Refuses a file by its extension and size alone, before anything is stored."""
    try:
        check_extension(uploaded_file.name)
    except FileProblem as problem:
        raise ValidationError(import_reasons.failure_message(problem.code, problem.params), code="extension") from None
    if uploaded_file.size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    limit = settings.SMS_IMPORT_MAX_BYTES
    if too_large(uploaded_file, limit):
        raise ValidationError(
            _("The file is %(size)s; files up to %(limit)s can be imported."),
            code="too_large",
            params={"size": filesizeformat(uploaded_file.size), "limit": filesizeformat(limit)},
        )


def start_import(membership, application, template, uploaded_file):
    """Stores the upload and queues its import once the transaction commits.

    `application` and `template` must be the membership's account's; raises ValidationError keyed
    by field for a file that cannot be imported.
    """
    if not membership.can_edit:
        raise PermissionDenied("Read-only members cannot import files.")
    if application.account_id != membership.account_id:
        raise ValueError("The application belongs to another account.")
    if template is not None and (
        template.application_id != application.pk or template.status != template.Status.ACTIVE
    ):
        raise ValidationError({"template": gettext("Choose an active template of the chosen application.")})
    try:
        check_upload(uploaded_file)
    except ValidationError as error:
        raise ValidationError({"file": error.error_list}) from None
    with transaction.atomic():
        recipient_import = RecipientImport(
            account_id=membership.account_id,
            application=application,
            template=template,
            original_name=os.path.basename(uploaded_file.name)[:255],
            size=uploaded_file.size,
            created_by=membership.user,
        )
        recipient_import.file.save(uploaded_file.name, uploaded_file, save=False)
        recipient_import.save()
        audit(
            membership.user,
            "create",
            recipient_import,
            after={"file": recipient_import.original_name, "size": recipient_import.size},
        )
        transaction.on_commit(lambda: import_recipients.delay(recipient_import.pk))
    return recipient_import


def expected_rows(recipient_import):
    """Lines in a CSV/TXT upload (an upper bound of its rows) for the progress bar; None for XLSX."""
    if recipient_import.contact_list_id:
        return recipient_import.contact_list.contacts.count()
    if recipient_import.original_name.lower().endswith(".xlsx"):
        return None
    key = f"campaigns:import-lines:{recipient_import.pk}"
    try:
        # Counted once per process and cached: about 50 ms for a 50 MB file.
        return cache.get_or_set(key, lambda: count_lines(recipient_import.file.path), 24 * 3600)
    except OSError:
        return None


# --- Sample file ---------------------------------------------------------------------------------

_SAMPLE_VALUES = {
    "PHONE": ("4008123123", "95511"),
    "CHARDIGIT": ("A1001", "B2002"),
    "MONEY": ("128.50", "36"),
    "TEXT": ("张三", "李四"),
}
_SAMPLE_DATES = (("2025-06-01", "2025-06-02"), ("20250601", "20250602"), ("9:30", "8:15"))


def _sample_values(variable):
    if variable.attribute == "DATETIME":
        for pair in _SAMPLE_DATES:
            if max(map(len, pair)) <= variable.max_length:
                return pair
        return _SAMPLE_DATES[-1]
    pair = _SAMPLE_VALUES.get(variable.attribute, _SAMPLE_VALUES["TEXT"])
    return tuple(value[: variable.max_length] for value in pair)


def _sample_numbers(region):
    if region == "CN":
        return "13800138000", "13900139000"
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is not None:
        first = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        second = first[:-1] + str((int(first[-1]) + 1) % 10)
        if all(normalise_number(n, region)[0] for n in (first, second)):
            return first, second
    return "+8613800138000", "+8613900139000"


def sample_rows(template):
    """A header row naming the columns and two example rows whose values pass the template's checks."""
    variables = list(template.variables.all())
    # "phone" stays English in every language: it is a column name the importer recognises.
    header = ["phone"] + [v.description.strip() or f"${{{v.position}}}" for v in variables]
    numbers = _sample_numbers(template.application.default_region or "CN")
    values = [_sample_values(v) for v in variables]
    rows = [[numbers[i]] + [pair[i] for pair in values] for i in range(2)]
    return header, rows


# --- Rejected rows -------------------------------------------------------------------------------


# Reasons whose detail names the row's number (the importer records the normalised number of a duplicate).
NUMBER_IN_DETAIL = {"duplicate", "duplicate_different_variables"}


def shown_rejected_row(cells, reason, detail, show_number):
    """A rejected row's cells and detail with its number as `show_number` gives it
    (smsconsole.privacy.number_display): a recipient file's number is its first cell."""
    shown_cells = [show_number(cells[0]), *cells[1:]] if cells else []
    return shown_cells, show_number(detail) if reason in NUMBER_IN_DETAIL else detail


def rejected_rows_export(recipient_import, show_number):
    """(header, rows) of every rejected row: number, translated reason, detail and the original cells."""
    columns = [gettext("Number")]
    if recipient_import.template_id:
        columns += [f"${{{v.position}}}" for v in recipient_import.template.variables.all()]
    header = [gettext("Row"), gettext("Reason"), gettext("Detail"), *columns]
    # Resolved now: a streamed response is consumed after the view returns.
    messages = import_reasons.reason_messages()
    rows = (
        recipient_import.rejected_rows.order_by("row_number")
        .values_list("row_number", "reason", "detail", "cells")
        .iterator(chunk_size=5000)
    )

    def line(row_number, reason, detail, cells):
        cells, detail = shown_rejected_row(cells, reason, detail, show_number)
        return [row_number, messages.get(reason) or import_reasons.reason_message(reason), detail, *cells]

    return header, (line(*row) for row in rows)


# --- What the detail page and its progress partial show ------------------------------------------

PREVIEW_ROWS = 20


def prepare_contact_list_audience(campaign, user):
    """A campaign to a contact list whose names or custom fields fill variables is sent from an
    import of the list (queued after commit): every contact's values are checked and counted
    exactly as a file's rows, and one that does not fit is reported, not sent."""
    if not campaign.contact_list_id or not any(campaign.variable_sources or []):
        return None
    sources = []
    for source, value in zip(campaign.variable_sources, campaign.shared_variables):
        if source == "name":
            sources.append({"field": "name"})
        elif source.startswith("custom:"):
            sources.append({"custom": source.removeprefix("custom:")})
        else:
            sources.append({"value": value})
    recipient_import = RecipientImport.objects.create(
        account_id=campaign.account_id,
        application=campaign.application,
        template=campaign.template,
        contact_list=campaign.contact_list,
        variable_sources=sources,
        original_name=campaign.contact_list.name[:255],
        created_by=user,
    )
    transaction.on_commit(lambda: import_recipients.delay(recipient_import.pk))
    campaign.recipient_import = recipient_import
    campaign.mode = campaign.Mode.DIFF
    return recipient_import


def campaign_url_for(recipient_import):
    """The campaign form with this file as the audience and its application and template chosen."""
    imp = recipient_import
    params = {"application": imp.application_id, "audience": f"import:{imp.pk}"}
    if imp.template_id:
        params.update(signature=imp.template.signature_id or "", template=imp.template_id)
    return reverse("campaigns:campaign_create") + "?" + urlencode(params)


def status_context(recipient_import, show_number):
    """The figures, messages and first rejected rows for an import's status, from its own row;
    `show_number` gives numbers as the reader may see them (smsconsole.privacy.number_display)."""
    imp = recipient_import
    context = {"imp": imp}
    if not imp.is_finished:
        expected = expected_rows(imp) if imp.status == imp.Status.RUNNING else None
        context["percent"] = min(99, imp.rows_read * 100 // expected) if expected else None
    elif imp.status == imp.Status.COMPLETED:
        context["summary"] = import_reasons.summary_sentence(imp)
        context["reasons"] = [
            {"code": code, "message": import_reasons.reason_message(code), "count": count}
            for code, count in sorted(imp.reason_counts.items(), key=lambda item: (-item[1], item[0]))
        ]
        rows = list(imp.rejected_rows.order_by("row_number")[:PREVIEW_ROWS]) if imp.rejected else []
        for row in rows:
            row.reason_message = import_reasons.reason_message(row.reason)
            row.shown_cells, row.shown_detail = shown_rejected_row(row.cells, row.reason, row.detail, show_number)
        context["rejected_rows"] = rows
        context["campaign_url"] = campaign_url_for(imp)
    elif imp.status == imp.Status.FAILED:
        context["failure"] = import_reasons.failure_message(imp.error_code, imp.error_params)
    return context
