"""Personal data in the console: who sees numbers whole, and the record of every export of numbers.

Operators see numbers whole; read-only members see them masked (138****8000, sms.masking) unless
their account grants them full numbers. Every page and export that shows a number passes it
through `number_display` (templates through the `shown_to` filter of smsconsole.templatetags.console).
"""

from sms.masking import mask_number
from smsconsole.models import audit


def _whole(number):
    return number


def number_display(membership):
    """The function that turns a stored number into what `membership` may see."""
    return _whole if membership.sees_full_numbers else mask_number


def shown_number(number, membership):
    return number_display(membership)(number)


def audit_export(actor, obj, *, what, rows, file_format, masked, account=None):
    """Records who exported how many rows of numbers (`what`: contacts, opt_outs, rejected_rows)
    from `obj`, in which format, and whether the numbers were masked."""
    return audit(
        actor,
        "export",
        obj,
        account=account,
        after={"what": what, "rows": rows, "format": file_format, "masked": masked},
    )


def audit_console_export(request, membership, obj, *, what, rows, file_format):
    return audit_export(
        request.user,
        obj,
        what=what,
        rows=rows,
        file_format=file_format,
        masked=not membership.sees_full_numbers,
        account=membership.account,
    )
