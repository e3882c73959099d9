"""Console imports into a contact list or the opt-out list, run inside the request.

These files are small next to recipient files (capped at MAX_ROWS), so they are read with the
streaming reader, normalised and written with bulk_create in batches, in one transaction: a file
refused half-way (too many rows, a broken encoding) leaves nothing behind. The result and its
rejected rows are stored as a ListImport, for the result page and its CSV download.
"""

import os
import tempfile
from contextlib import contextmanager

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns import import_reasons
from campaigns.exports import csv_lines
from campaigns.importer import count_lines, looks_like_header
from campaigns.models import Contact, ListImport, ListImportRejectedRow, OptOut
from campaigns.numbers import normalise_number
from campaigns.privacy import restore_suppressed
from campaigns.recipient_files import FileProblem, kept_cells, read_rows
from smsconsole.models import Application

MAX_ROWS = 50_000
MAX_BYTES = 20 * 1024 * 1024
BATCH_ROWS = 2_000
NAME_MAX_LENGTH = Contact._meta.get_field("name").max_length
NOTE_MAX_LENGTH = OptOut._meta.get_field("note").max_length

DUPLICATE = "duplicate"
NAME_TOO_LONG = "name_too_long"

# Row reasons of these imports that differ from the recipient import's; number and file codes
# share campaigns.import_reasons with it.
REASONS = {
    DUPLICATE: _("The same number as an earlier row (row %(row)s)."),
    NAME_TOO_LONG: _("The name is longer than %(limit)s characters."),
}

NAME_WORDS = {"name", "姓名", "名字", "名称", "联系人"}
NOTE_WORDS = {"note", "备注", "说明"}


def problem_message(problem):
    """The translated message for a FileProblem, with its parameters filled in."""
    return import_reasons.failure_message(problem.code, problem.params)


def reason_label(code, detail=""):
    label = REASONS.get(code)
    if label is None:
        return import_reasons.reason_message(code)
    return str(label) % {"limit": NAME_MAX_LENGTH, "row": detail}


def default_region(account):
    """The default region of the account's first application, or CN when it has none."""
    region = (
        Application.objects.filter(account=account)
        .order_by("created_at", "pk")
        .values_list("default_region", flat=True)
        .first()
    )
    return region or "CN"


@contextmanager
def stored_upload(uploaded_file):
    """A filesystem path holding the upload; small uploads live in memory and are written out first."""
    if hasattr(uploaded_file, "temporary_file_path"):
        yield uploaded_file.temporary_file_path()
        return
    ext = os.path.splitext(uploaded_file.name or "")[1].lower()
    handle = tempfile.NamedTemporaryFile(suffix=ext, delete=False)
    try:
        with handle:
            for chunk in uploaded_file.chunks():
                handle.write(chunk)
        yield handle.name
    finally:
        os.unlink(handle.name)


class DataRows:
    """Data rows of a file: blank rows skipped, a header row set aside in `header`, at most MAX_ROWS."""

    def __init__(self, path, filename, max_rows=None):
        self.path, self.filename = path, filename
        self.max_rows = MAX_ROWS if max_rows is None else max_rows
        self.header = None

    def __iter__(self):
        if not self.filename.lower().endswith(".xlsx") and count_lines(self.path) > self.max_rows + 2:
            # Refused before any row is written; XLSX has no cheap count and is stopped mid-way instead.
            raise FileProblem("too_many_rows", {"limit": self.max_rows})
        first, data_rows = True, 0
        for row_number, cells in read_rows(self.path, self.filename):
            cells = [cell.strip() for cell in cells]
            if not any(cells):
                continue
            if first:
                first = False
                if looks_like_header(cells):
                    self.header = cells
                    continue
            data_rows += 1
            if data_rows > self.max_rows:
                raise FileProblem("too_many_rows", {"limit": self.max_rows})
            yield row_number, cells
        if not data_rows:
            raise FileProblem("empty" if first else "no_rows")


def _cell(cells, index):
    if index is None or index >= len(cells):
        return ""
    return cells[index]


def contact_columns(header, field_names):
    """Column index of the name and of each custom field: by the header's names, else by position."""
    positional = {"name": 1, **{name: 2 + i for i, name in enumerate(field_names)}}
    if header is None:
        return positional
    by_name = {}
    for index, title in enumerate(header[1:], start=1):
        by_name.setdefault(title.strip().lower(), index)
    name_words = NAME_WORDS | {gettext("Name").lower()}
    name_index = next((by_name[word] for word in name_words if word in by_name), None)
    fields = {name: by_name.get(name.strip().lower()) for name in field_names}
    if name_index is None and not any(index is not None for index in fields.values()):
        # A header naming nothing known (e.g. "手机, 客户, 城市") still follows the positional layout.
        return positional
    return {"name": name_index, **fields}


class ResultWriter:
    """Writes the ListImport of one file and its rejected rows a batch at a time, inside the
    import's transaction: a file refused half-way leaves no result behind either."""

    def __init__(self, list_import):
        self.result = list_import
        self.pending = []

    def reject(self, row_number, cells, reason, detail=""):
        self.result.rejected += 1
        self.pending.append(
            ListImportRejectedRow(
                list_import=self.result,
                row_number=row_number,
                cells=kept_cells(cells),
                reason=reason,
                detail=str(detail)[:200],
            )
        )
        if len(self.pending) >= BATCH_ROWS:
            self.flush()

    def flush(self):
        ListImportRejectedRow.objects.bulk_create(self.pending)
        self.pending.clear()

    def finish(self):
        self.flush()
        self.result.save(update_fields=["rows", "added", "existing", "rejected"])
        return self.result


def rejected_rows(list_import, limit=None):
    """Rejected rows for display and download: (row number, cells, reason message)."""
    rows = list_import.rejected_rows.order_by("row_number", "pk").values_list("row_number", "cells", "reason", "detail")
    if limit is not None:
        rows = rows[:limit]
    for row_number, cells, reason, detail in rows.iterator(chunk_size=2000):
        yield row_number, cells, reason_label(reason, detail)


def rejected_csv_lines(list_import):
    widths = list_import.rejected_rows.values_list("cells", flat=True)
    width = max((len(cells) for cells in widths.iterator(chunk_size=2000)), default=1)
    header = [gettext("Row"), gettext("Reason")] + [
        gettext("Column %(number)s") % {"number": i} for i in range(1, width + 1)
    ]
    rows = ([row, reason, *cells] for row, cells, reason in rejected_rows(list_import))
    return csv_lines(header, rows)


def _check_number(writer, seen, row_number, cells, region):
    """The row's number in E.164, or None after recording why the row is rejected."""
    phone, error = normalise_number(cells[0], region)
    if error:
        writer.reject(row_number, cells, error)
        return None
    if phone in seen:
        writer.reject(row_number, cells, DUPLICATE, seen[phone])
        return None
    seen[phone] = row_number
    return phone


def import_contacts(contact_list, path, filename, region, user=None):
    """Adds the file's rows to `contact_list`; numbers already in it are counted, not changed.
    Returns the ListImport with the counts.

    Raises FileProblem (and writes nothing) when the file as a whole cannot be used.
    """
    rows = DataRows(path, filename)
    columns, seen, pending = None, {}, []

    def flush():
        phones = [contact.phone for contact in pending]
        existing = set(
            Contact.objects.filter(contact_list=contact_list, phone__in=phones).values_list("phone", flat=True)
        )
        new = [contact for contact in pending if contact.phone not in existing]
        # ignore_conflicts: a contact added in another request meanwhile is not an error.
        Contact.objects.bulk_create(new, ignore_conflicts=True)
        restore_suppressed(contact_list.account_id, [contact.phone for contact in new])
        result.added += len(new)
        result.existing += len(existing)
        pending.clear()

    with transaction.atomic():
        writer = ResultWriter(
            ListImport.objects.create(
                account_id=contact_list.account_id,
                kind=ListImport.Kind.CONTACTS,
                contact_list=contact_list,
                original_name=filename[:255],
                created_by=user,
            )
        )
        result = writer.result
        for row_number, cells in rows:
            if columns is None:
                columns = contact_columns(rows.header, contact_list.field_names)
            result.rows += 1
            phone = _check_number(writer, seen, row_number, cells, region)
            if phone is None:
                continue
            name = _cell(cells, columns["name"])
            if len(name) > NAME_MAX_LENGTH:
                writer.reject(row_number, cells, NAME_TOO_LONG)
                continue
            values = {name_: _cell(cells, columns[name_]) for name_ in contact_list.field_names}
            pending.append(
                Contact(
                    contact_list=contact_list, phone=phone, name=name, fields={k: v for k, v in values.items() if v}
                )
            )
            if len(pending) >= BATCH_ROWS:
                flush()
        if pending:
            flush()
        return writer.finish()


def import_opt_outs(account, path, filename, region, user=None):
    """Adds the file's numbers to the account's opt-out list (source "import"); the second column is a note.
    Returns the ListImport with the counts."""
    rows = DataRows(path, filename)
    note_index, seen, pending = None, {}, []

    def flush():
        phones = [opt_out.phone for opt_out in pending]
        existing = set(OptOut.objects.filter(account=account, phone__in=phones).values_list("phone", flat=True))
        new = [opt_out for opt_out in pending if opt_out.phone not in existing]
        OptOut.objects.bulk_create(new, ignore_conflicts=True)
        result.added += len(new)
        result.existing += len(existing)
        pending.clear()

    with transaction.atomic():
        writer = ResultWriter(
            ListImport.objects.create(
                account=account,
                kind=ListImport.Kind.OPT_OUTS,
                original_name=filename[:255],
                created_by=user,
            )
        )
        result = writer.result
        for row_number, cells in rows:
            if note_index is None:
                titles = [title.lower() for title in (rows.header or [])]
                note_words = NOTE_WORDS | {gettext("Note").lower()}
                note_index = next((i for i, title in enumerate(titles) if i and title in note_words), 1)
            result.rows += 1
            phone = _check_number(writer, seen, row_number, cells, region)
            if phone is None:
                continue
            note = _cell(cells, note_index)[:NOTE_MAX_LENGTH]
            pending.append(OptOut(account=account, phone=phone, source=OptOut.Source.IMPORT, note=note))
            if len(pending) >= BATCH_ROWS:
                flush()
        if pending:
            flush()
        return writer.finish()


__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "DataRows",
    "contact_columns",
    "default_region",
    "import_contacts",
    "import_opt_outs",
    "problem_message",
    "reason_label",
    "rejected_csv_lines",
    "rejected_rows",
    "stored_upload",
]
