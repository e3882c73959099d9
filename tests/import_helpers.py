"""Builders for recipient-import tests."""

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import RecipientImport, RejectedRow

ORDER_CONTENT = "您的订单${1}已发货，收货人${2}。"


def create_order_template(factories, application, **fields):
    """An active template with a CHARDIGIT order number and a TEXT name."""
    return factories.create_template(
        application, content=ORDER_CONTENT, variables=[("CHARDIGIT", 20), ("TEXT", 10)], **fields
    )


def csv_file(text, name="list.csv", encoding="utf-8"):
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def create_import(account, application, template=None, name="list.csv", data=b"13800138000\n", **fields):
    """A stored import in any state, without running it."""
    imp = RecipientImport(
        account=account, application=application, template=template, original_name=name, size=len(data), **fields
    )
    imp.file.save(name, ContentFile(data), save=False)
    imp.save()
    return imp


def add_rejected_rows(imp, rows):
    """rows: (row_number, cells, reason[, detail])."""
    RejectedRow.objects.bulk_create(
        RejectedRow(recipient_import=imp, row_number=r[0], cells=r[1], reason=r[2], detail=(r[3] if len(r) > 3 else ""))
        for r in rows
    )
