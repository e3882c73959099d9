"""Builders and file helpers for the contact-list and opt-out tests."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from campaigns.models import Contact, ContactList, OptOut

FORMULA = "=cmd|' /C calc'!A0"


def create_contact_list(account, name="Customers", field_names=()):
    return ContactList.objects.create(account=account, name=name, field_names=list(field_names))


def create_contact(contact_list, phone="+8613800138000", name="", **fields):
    return Contact.objects.create(contact_list=contact_list, phone=phone, name=name, fields=fields)


def create_opt_out(account, phone="+8613800138000", note="", source=OptOut.Source.MANUAL):
    return OptOut.objects.create(account=account, phone=phone, note=note, source=source)


def csv_upload(text, name="contacts.csv", encoding="utf-8"):
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def xlsx_upload(rows, name="contacts.xlsx"):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def streamed_text(response):
    return b"".join(response.streaming_content).decode("utf-8-sig")


def xlsx_rows(response):
    content = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]
