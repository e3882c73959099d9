"""The recipient-file import: stream rows, normalise, validate, dedupe, write in bulk.

Rows are written in batches (PostgreSQL COPY, bulk_create elsewhere) while the import is RUNNING;
an import is usable only once COMPLETED, and a failed or cancelled one has its rows deleted, so a
half list never looks usable.
"""

import json
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from campaigns.models import Contact, OptOut, Recipient, RecipientImport, RejectedRow
from campaigns.numbers import normalise_number
from campaigns.recipient_files import FileProblem, kept_cells, read_rows
from campaigns.xlsx import declared_rows
from sms import text
from smsconsole.models import TransitionError
from templates_app import rules

log = logging.getLogger(__name__)

BATCH_ROWS = 20_000
_to_json = json.JSONEncoder(ensure_ascii=False).encode
# COPY's text format escapes backslash, tab, newline and carriage return.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value):
    return value.translate(_COPY_ESCAPES)


HEADER_WORDS = {"phone", "mobile", "number", "msisdn", "tel", "号码", "手机", "手机号", "手机号码", "电话", "电话号码"}


@dataclass(frozen=True)
class VariableSpec:
    position: int
    attribute: str
    max_length: int
    description: str = ""


def variable_specs(template):
    if template is None:
        return []
    return [VariableSpec(v.position, v.attribute, v.max_length, v.description) for v in template.variables.all()]


def looks_like_header(cells):
    first = (cells[0] if cells else "").strip().lower()
    if first in HEADER_WORDS:
        return True
    # A first cell with no digit at all cannot be a number: treat the row as column names.
    return bool(first) and not any(ch.isdigit() for ch in first)


def column_order(header, specs):
    """Maps each variable position to a column index, by header names where they name variables."""
    names = {}
    for index, name in enumerate(header[1:], start=1):
        key = name.strip().lower().removeprefix("${").removesuffix("}").removeprefix("var").strip()
        names.setdefault(key, index)
    order = {}
    for spec in specs:
        for key in (str(spec.position), spec.description.strip().lower()):
            if key and key in names:
                order[spec.position] = names[key]
                break
    if len(order) != len(specs) or len(set(order.values())) != len(specs):
        return {spec.position: i for i, spec in enumerate(specs, start=1)}
    return order


def count_lines(path):
    """Newlines in the file, as a fast upper bound of its rows (about 1 GB/s)."""
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


class BatchWriter:
    """Collects accepted and rejected rows and writes them a batch at a time."""

    def __init__(self, import_id):
        self.import_id = import_id
        self.recipients = []
        self.rejected = []
        self.use_copy = connection.vendor == "postgresql"

    def flush(self):
        if self.use_copy:
            self._copy()
        else:
            Recipient.objects.bulk_create(
                [
                    Recipient(
                        recipient_import_id=self.import_id,
                        row_number=r,
                        phone=p,
                        variables=v,
                        opted_out=False,
                        segments=s,
                    )
                    for r, p, v, s in self.recipients
                ],
                batch_size=5000,
            )
            RejectedRow.objects.bulk_create(
                [
                    RejectedRow(recipient_import_id=self.import_id, row_number=r, cells=c, reason=reason, detail=d)
                    for r, c, reason, d in self.rejected
                ],
                batch_size=5000,
            )
        self.recipients.clear()
        self.rejected.clear()

    def _copy(self):
        # Lines are built here and written in one block: psycopg's write_row per row was a tenth
        # of the import's time.
        with transaction.atomic(), connection.cursor() as cursor:
            if self.recipients:
                prefix = f"{self.import_id}\t"
                block = "".join(
                    f"{prefix}{row_number}\t{phone}\t{_copy_text(_to_json(variables))}\tf\t{segments}\n"
                    for row_number, phone, variables, segments in self.recipients
                )
                with cursor.copy(
                    "COPY campaigns_recipient (recipient_import_id, row_number, phone, variables, opted_out, segments)"
                    " FROM STDIN"
                ) as copy:
                    copy.write(block.encode())
            if self.rejected:
                block = "".join(
                    f"{self.import_id}\t{row_number}\t{_copy_text(_to_json(cells))}\t{reason}\t{_copy_text(detail)}\n"
                    for row_number, cells, reason, detail in self.rejected
                )
                with cursor.copy(
                    "COPY campaigns_rejectedrow (recipient_import_id, row_number, cells, reason, detail) FROM STDIN"
                ) as copy:
                    copy.write(block.encode())


class Cancelled(Exception):
    pass


class Importer:
    def __init__(self, recipient_import):
        self.imp = recipient_import
        self.region = recipient_import.application.default_region or "CN"
        self.specs = variable_specs(recipient_import.template)
        template = recipient_import.template
        self.count_segments = (
            text.segment_counter(text.split(template.content, template.signature_name)) if template else None
        )
        self.phone_min_length = settings.SMS_PHONE_VARIABLE_MIN_LENGTH
        self.reject_conflicts = settings.SMS_IMPORT_DUPLICATE_POLICY == "reject_number"
        self.conflicts = set()
        self.counts = {"rows_read": 0, "accepted": 0, "rejected": 0, "duplicates": 0, "segments": 0}
        self.reasons = {}
        # Numbers as ints keep 1,000,000 entries near 100 MB instead of twice that as strings.
        self.seen = {}

    def reject(self, writer, row_number, cells, reason, detail=""):
        self.counts["rejected"] += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        writer.rejected.append((row_number, kept_cells(cells), reason, detail[:200]))

    def segments_for(self, variables):
        """What the message to this row will be charged; 0 without a template (the campaign's
        shared values decide then)."""
        return self.count_segments(variables) if self.count_segments else 0

    def check_row(self, cells, order):
        """Returns (phone, variables, None) or (None, None, (reason, detail))."""
        phone, error = normalise_number(cells[0] if cells else "", self.region)
        if error:
            return None, None, (error, "")
        variables = []
        for spec in self.specs:
            index = order[spec.position]
            value = cells[index].strip() if index < len(cells) else ""
            if not value:
                return None, None, ("missing_variable", f"${{{spec.position}}}")
            problem = rules.validate_variable_value(spec.attribute, value, spec.max_length, self.phone_min_length)
            if problem:
                return None, None, (f"variable_{problem}", f"${{{spec.position}}}")
            variables.append(value)
        return phone, variables, None

    def save_progress(self):
        """Writes the counts so far; the import stops here once it was cancelled."""
        if not self.imp.record_progress(
            **{k: self.counts[k] for k in ("rows_read", "accepted", "rejected", "duplicates")}
        ):
            raise Cancelled

    def rows(self):
        """(row_number, cells) from the file, or from the contact list the import reads instead."""
        if self.imp.contact_list_id:
            return contact_rows(self.imp.contact_list_id, self.imp.variable_sources)
        return read_rows(self.imp.file.path, self.imp.original_name)

    def run(self):
        # Written around the template forms (the database, an admin bypass): no row's value could be
        # checked, so the file fails as a whole before any row, as planning and the send API refuse it.
        if rules.unknown_attributes(spec.attribute for spec in self.specs):
            raise FileProblem("unknown_attribute")
        max_rows = settings.SMS_IMPORT_MAX_ROWS
        name = self.imp.original_name
        path = self.imp.file.path if not self.imp.contact_list_id else None
        if path is None:
            pass  # a contact list: its rows are counted as they are read
        elif name.lower().endswith(".xlsx"):
            # The sheet's own <dimension> answers before any work; the loop below still enforces it.
            declared = declared_rows(path)
            if declared is not None and declared > max_rows + 1:
                raise FileProblem("too_many_rows", {"limit": max_rows})
        elif count_lines(path) > max_rows + 2:
            raise FileProblem("too_many_rows", {"limit": max_rows})
        writer = BatchWriter(self.imp.pk)
        order = None
        has_header = False
        data_rows = 0
        started = time.monotonic()
        for row_number, cells in self.rows():
            if order is None:
                has_header = path is not None and looks_like_header(cells)
                if len(cells) < 1 + len(self.specs):
                    raise FileProblem("too_few_columns", {"needed": 1 + len(self.specs), "found": len(cells)})
                order = column_order(cells if has_header else [], self.specs)
                if has_header:
                    continue
            # Counted, not taken from row_number: an XLSX may number its second row 5,000,000.
            data_rows += 1
            if data_rows > max_rows:
                raise FileProblem("too_many_rows", {"limit": max_rows})
            self.counts["rows_read"] += 1
            if not "".join(cells).strip():
                self.reasons["blank_row"] = self.reasons.get("blank_row", 0) + 1
                continue
            phone, variables, problem = self.check_row(cells, order)
            if problem:
                self.reject(writer, row_number, cells, *problem)
            else:
                key = int(phone[1:])
                fingerprint = hash(tuple(variables)) if variables else 0
                first = self.seen.get(key)
                if first is None:
                    self.seen[key] = fingerprint
                    segments = self.segments_for(variables)
                    self.counts["accepted"] += 1
                    self.counts["segments"] += segments
                    writer.recipients.append((row_number, phone, variables, segments))
                else:
                    self.counts["duplicates"] += 1
                    reason = "duplicate" if first == fingerprint else "duplicate_different_variables"
                    if reason != "duplicate":
                        self.conflicts.add(phone)
                    self.reject(writer, row_number, cells, reason, phone)
            if len(writer.recipients) + len(writer.rejected) >= BATCH_ROWS:
                writer.flush()
                self.save_progress()
        if order is None:
            raise FileProblem("empty")
        if not self.counts["accepted"] and not self.counts["rejected"]:
            raise FileProblem("no_rows")
        writer.flush()
        self.save_progress()
        return has_header, time.monotonic() - started

    def drop_conflicting_numbers(self):
        """Under the reject_number policy, a number given different variables keeps none of its rows."""
        if not self.reject_conflicts or not self.conflicts:
            return
        for chunk in _chunks(sorted(self.conflicts), 5000):
            kept = Recipient.objects.filter(recipient_import=self.imp, phone__in=chunk)
            rows = [
                RejectedRow(
                    recipient_import_id=self.imp.pk,
                    row_number=r.row_number,
                    cells=[r.phone, *r.variables],
                    reason="duplicate_different_variables",
                    detail=r.phone,
                )
                for r in kept
            ]
            RejectedRow.objects.bulk_create(rows, batch_size=5000)
            self.counts["segments"] -= sum(r.segments for r in kept)
            self.counts["accepted"] -= kept.delete()[0]
            self.counts["rejected"] += len(rows)
            self.reasons["duplicate_different_variables"] = self.reasons.get("duplicate_different_variables", 0) + len(
                rows
            )

    def finish(self, has_header):
        """Completes the import; raises Cancelled if the operator cancelled it meanwhile."""
        self.drop_conflicting_numbers()
        opted_out = mark_opted_out(self.imp)
        try:
            self.imp.complete(has_header=has_header, opted_out=opted_out, reason_counts=self.reasons, **self.counts)
        except TransitionError:
            raise Cancelled from None


def contact_rows(contact_list_id, sources):
    """A contact list as the rows of a file: the number, then one cell per template variable, from
    the variable's source ({"value": ...} for everyone, {"field": "name"}, {"custom": "<field>"})."""
    contacts = (
        Contact.objects.filter(contact_list_id=contact_list_id).order_by("id").values_list("phone", "name", "fields")
    )
    for row_number, (phone, name, fields) in enumerate(contacts.iterator(chunk_size=5000), start=1):
        cells = [phone]
        for source in sources:
            if "value" in source:
                cells.append(str(source["value"]))
            elif source.get("field") == "name":
                cells.append(name or "")
            else:
                cells.append(str((fields or {}).get(source.get("custom"), "")))
        yield row_number, cells


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def mark_opted_out(recipient_import):
    """Marks the import's recipients that are on the account's opt-out list, set-based."""
    from campaigns.privacy import restore_suppressed_in_import

    restore_suppressed_in_import(recipient_import)
    opted = OptOut.objects.filter(account_id=recipient_import.account_id).values("phone")
    return Recipient.objects.filter(recipient_import=recipient_import, phone__in=opted).update(opted_out=True)


def discard_rows(import_id):
    Recipient.objects.filter(recipient_import_id=import_id).delete()
    RejectedRow.objects.filter(recipient_import_id=import_id).delete()


def run_import(import_id):
    """Runs one import to the end; safe to call twice (only a PENDING import is claimed)."""
    recipient_import = RecipientImport.objects.select_related("application", "template__signature").get(pk=import_id)
    if not recipient_import.claim():
        return {"import": import_id, "skipped": recipient_import.status}
    importer = Importer(recipient_import)
    try:
        has_header, seconds = importer.run()
        importer.finish(has_header)
    except Cancelled:
        discard_rows(import_id)
        return {"import": import_id, "cancelled": True}
    except FileProblem as problem:
        discard_rows(import_id)
        return _failed(recipient_import, problem.code, problem.params)
    except Exception:
        discard_rows(import_id)
        _failed(recipient_import, "internal_error")
        raise
    log.info("import %s: %s rows in %.1fs", import_id, importer.counts["rows_read"], seconds)
    return {"import": import_id, **importer.counts}


def _failed(recipient_import, code, params=None):
    try:
        recipient_import.fail(code, params)
    except TransitionError:
        # The operator cancelled while the file was failing: the cancel stands.
        return {"import": recipient_import.pk, "cancelled": True}
    return {"import": recipient_import.pk, "failed": code}


__all__ = ["Importer", "discard_rows", "run_import"]
