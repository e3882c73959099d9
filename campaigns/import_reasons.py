"""Human messages for the codes the recipient import writes: per-row reasons and whole-file failures.

The importer and the file readers store stable codes (campaigns.numbers, templates_app.rules,
campaigns.recipient_files); this module is where they become translated sentences.
"""

from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

# Why a single row did not become a recipient (RejectedRow.reason, RecipientImport.reason_counts).
ROW_REASONS = {
    # campaigns.numbers.ERROR_CODES
    "empty": _("The number cell is empty."),
    "scientific_notation": _(
        "The number was shown in scientific notation (1.38E+10) by Excel and its digits are lost; "
        "format the column as text and export the file again."
    ),
    "not_a_number": _("The number cell holds something other than a phone number."),
    "invalid_number": _("Not a valid phone number for the application's region."),
    "not_mobile": _("Not a mobile number; messages can only be sent to mobile phones."),
    # The importer's own checks
    "missing_variable": _("A value for a template variable is missing."),
    "duplicate": _("The same number and values as an earlier row; each number gets one message."),
    "duplicate_different_variables": _(
        "The same number as another row but with different values; each number gets one message."
    ),
    "blank_row": _("Blank row, skipped."),
    # "variable_" + templates_app.rules.VALUE_ERROR_CODES
    "variable_empty": _("A variable value is blank."),
    "variable_too_long": _("A variable value is longer than the template allows for it."),
    "variable_too_short": _("A phone-number variable value is too short."),
    "variable_invalid": _(
        "A variable value does not fit its attribute (for example letters in an amount, or a date that does not exist)."
    ),
    "variable_forbidden_character": _("A text variable value contains a character it may not contain: . 。 ' < > { }"),
    "variable_link": _("A variable value contains a link; links belong in the template's fixed text."),
    "variable_contact": _(
        "A variable value contains a mobile number or a QQ/WeChat handle, which variables may not carry."
    ),
}

# Why the file as a whole was refused (RecipientImport.error_code with error_params).
FILE_PROBLEMS = {
    "extension": _("Files of type %(extension)s cannot be imported; use %(allowed)s."),
    "empty": _("The file is empty."),
    "binary": _(
        "The file is not text. Save it from Excel as CSV (UTF-8) or upload it as .xlsx under its real extension."
    ),
    "encoding": _("The file's text encoding is not UTF-8, UTF-16 or GBK/GB18030; save it as CSV UTF-8."),
    "malformed": _("The CSV cannot be read at row %(row)s: %(detail)s."),
    "not_xlsx": _("The file is not a valid Excel workbook (.xlsx)."),
    "damaged": _(
        "The workbook is damaged: part of it cannot be unpacked. "
        "Open it in Excel, save it again and upload the new file."
    ),
    "no_sheet": _("The workbook has no worksheet."),
    "no_rows": _("The file has no numbers: it holds only a header row or blank rows."),
    "too_many_rows": _("The file has more than %(limit)s rows; split it into smaller files."),
    "too_few_columns": _(
        "The template needs %(needed)s columns (the number and its variables) but the file has %(found)s."
    ),
    "unknown_attribute": _(
        "A variable of the template has an unknown attribute; correct the template's variables, "
        "then import the file again."
    ),
    "interrupted": _("The import stopped unexpectedly (its worker was lost); upload the file again."),
    "internal_error": _("The import failed because of an internal error; upload the file again or contact support."),
}

UNKNOWN_REASON = _("Not imported (%(code)s).")
UNKNOWN_PROBLEM = _("The file could not be imported (%(code)s).")


class _Params(dict):
    """Formatting params that never raise: a row stored before a message changed still renders."""

    def __missing__(self, key):
        return "?"


def _format_param(value):
    return number_format(value, force_grouping=True) if isinstance(value, int) else value


def reason_message(code):
    message = ROW_REASONS.get(code)
    return str(message) if message is not None else gettext(UNKNOWN_REASON) % {"code": code}


def failure_message(code, params=None):
    params = _Params({k: _format_param(v) for k, v in (params or {}).items()})
    message = FILE_PROBLEMS.get(code)
    if message is None:
        return gettext(UNKNOWN_PROBLEM) % {"code": code}
    text = str(message) % params
    if "row" in params and "%(row)" not in str(FILE_PROBLEMS[code]):
        text += " " + gettext("The problem is at row %(row)s.") % params
    return text


def reason_messages():
    """Every row reason translated in the current language, for exports that outlive the request."""
    return {code: str(message) for code, message in ROW_REASONS.items()}


def summary_sentence(recipient_import):
    """The console's one-line result, e.g. "Imported 9,500 numbers; removed 300 duplicates and 200 invalid"."""
    imp = recipient_import
    invalid = imp.rejected - imp.duplicates

    def n(value):
        return number_format(value, force_grouping=True)

    parts = [
        ngettext("Imported %(count)s number", "Imported %(count)s numbers", imp.accepted) % {"count": n(imp.accepted)},
        ngettext(
            "removed %(duplicates)s duplicate and %(invalid)s invalid",
            "removed %(duplicates)s duplicates and %(invalid)s invalid",
            imp.duplicates,
        )
        % {"duplicates": n(imp.duplicates), "invalid": n(invalid)},
    ]
    if imp.opted_out:
        parts.append(
            ngettext("%(count)s is on the opt-out list", "%(count)s are on the opt-out list", imp.opted_out)
            % {"count": n(imp.opted_out)}
        )
    if imp.template_id:
        parts.append(ngettext("%(count)s segment", "%(count)s segments", imp.segments) % {"count": n(imp.segments)})
    # Chinese joins clauses with a full-width semicolon.
    return pgettext("list separator", "; ").join(parts)
