"""Files that used to give a 500, an "internal error" or a wrong answer: damaged XLSX archives,
far-away row numbers, header-only files, huge cells and control characters in exports."""

import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.exports import write_xlsx
from campaigns.importer import run_import
from campaigns.models import ListImport, OptOut, RejectedRow
from campaigns.recipient_files import FileProblem, read_rows
from tests.contact_helpers import create_contact_list, create_opt_out
from tests.import_helpers import create_import

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def xlsx_bytes(rows):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewritten(data, sheet_xml=None, stored=False):
    """The workbook with its sheet replaced and/or stored uncompressed."""
    with zipfile.ZipFile(io.BytesIO(data)) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    if sheet_xml is not None:
        parts["xl/worksheets/sheet1.xml"] = sheet_xml.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def numbers_sheet(count, padding=0):
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>1380013{n:04d}</t></is></c></row>' for n in range(1, count + 1)
    )
    return f'<worksheet xmlns="{MAIN}"><sheetData>{rows}{" " * padding}</sheetData></worksheet>'


def with_bad_crc():
    """A stored (uncompressed) sheet with one digit changed after its CRC was written."""
    data = bytearray(rewritten(xlsx_bytes([]), numbers_sheet(50), stored=True))
    position = data.index(b"13800130025")
    data[position + 10] = ord("9")
    return bytes(data)


def with_broken_deflate():
    """A deflated sheet whose compressed stream starts with a block of the reserved type."""
    data = rewritten(xlsx_bytes([]), numbers_sheet(3000))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    broken = bytearray(data)
    broken[start] = 0xFF  # BFINAL=1, BTYPE=11: "invalid block type"
    return bytes(broken)


DAMAGED = {"bad crc": with_bad_crc, "broken deflate": with_broken_deflate}


@pytest.mark.parametrize("damage", DAMAGED)
def test_reading_a_damaged_workbook_says_it_is_damaged(tmp_path, damage):
    path = tmp_path / "list.xlsx"
    path.write_bytes(DAMAGED[damage]())
    with pytest.raises(FileProblem) as problem:
        list(read_rows(path, "list.xlsx"))
    assert problem.value.code == "damaged"


@pytest.mark.parametrize("damage", DAMAGED)
def test_a_damaged_recipient_file_fails_with_that_reason(acme, shop, damage):
    imp = create_import(acme, shop, name="list.xlsx", data=DAMAGED[damage]())
    run_import(imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.error_code) == ("failed", "damaged")


@pytest.mark.parametrize("damage", DAMAGED)
def test_a_damaged_contact_or_opt_out_file_is_the_file_fields_error(alice_client, acme, damage):
    contact_list = create_contact_list(acme)
    for url in (reverse("campaigns:contact_list_import", args=[contact_list.pk]), reverse("campaigns:opt_out_import")):
        upload = SimpleUploadedFile("list.xlsx", DAMAGED[damage]())
        response = alice_client.post(url, {"file": upload, "region": "CN"})
        assert response.status_code == 200
        assert "The workbook is damaged" in " ".join(response.context["form"].errors["file"])
    assert not contact_list.contacts.exists() and not OptOut.objects.exists() and not ListImport.objects.exists()


def test_two_rows_numbered_far_apart_are_two_rows_not_five_million(acme, shop):
    sheet = (
        f'<worksheet xmlns="{MAIN}"><dimension ref="A1:A5000000"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>13800138000</t></is></c></row>'
        '<row r="5000000"><c r="A5000000" t="inlineStr"><is><t>13900139000</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    imp = create_import(acme, shop, name="list.xlsx", data=rewritten(xlsx_bytes([]), sheet))
    run_import(imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.accepted) == ("completed", 2)


@pytest.mark.parametrize(
    "name, data",
    [
        ("list.csv", b"phone\n"),
        ("list.csv", b"phone\n\n,\n"),
        ("list.xlsx", xlsx_bytes([["phone"]])),
    ],
)
def test_a_file_with_only_a_header_says_it_has_no_numbers(acme, shop, name, data):
    imp = create_import(acme, shop, name=name, data=data)
    run_import(imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.error_code) == ("failed", "no_rows")


def test_a_header_only_contact_file_is_refused_with_that_reason(alice_client, acme):
    contact_list = create_contact_list(acme)
    upload = SimpleUploadedFile("contacts.csv", b"phone,name\n")
    response = alice_client.post(
        reverse("campaigns:contact_list_import", args=[contact_list.pk]), {"file": upload, "region": "CN"}
    )
    assert "no numbers" in " ".join(response.context["form"].errors["file"])


def test_a_rejected_row_keeps_at_most_two_hundred_characters_of_a_huge_cell(acme, shop):
    imp = create_import(acme, shop, name="list.txt", data=b"13800138000\n" + b"1" * 2_000_000 + b"\n")
    run_import(imp.pk)
    cells = RejectedRow.objects.get(recipient_import=imp).cells
    assert cells == ["1" * 200 + "…"]


def test_an_xlsx_export_writes_control_characters_out_instead_of_failing(alice_client, acme):
    create_opt_out(acme, "+8613800138000", note="bell\x07 and\x1f unit separator")
    response = alice_client.get(reverse("campaigns:opt_out_export", args=["xlsx"]))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert sheet.cell(2, 3).value == "bell\\x07 and\\x1f unit separator"


def test_xlsx_text_cells_keep_their_text_without_an_apostrophe():
    buffer = io.BytesIO()
    write_xlsx(buffer, ["h"], [["=1+2"], ["@SUM(A1)"], ["-x"]])
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0]
    cells = [sheet.cell(row, 1) for row in (2, 3, 4)]
    assert [c.value for c in cells] == ["=1+2", "@SUM(A1)", "-x"]
    assert {c.data_type for c in cells} == {"s"}
