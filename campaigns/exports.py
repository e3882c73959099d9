"""Exports of rows operators download (rejected rows, opt-outs), safe to open in a spreadsheet.

In CSV, a cell that starts with = + - @ or a control character is a formula to Excel and
LibreOffice (CSV injection); such cells get a leading apostrophe, which spreadsheets show as text.
Plain numbers such as +8613800138000 or -12.5 cannot be formulas and are left alone. XLSX cells
are typed as text, which no spreadsheet evaluates.
"""

import csv
import io
import itertools
import re

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d ]*(?:\.\d+)?$")


def safe_cell(value):
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def csv_lines(header, rows):
    """Yields CSV text chunks, UTF-8 with a BOM so Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow([safe_cell(c) for c in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(c) for c in row])
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# What XML 1.0, and so XLSX, cannot hold: openpyxl refuses the whole workbook over one of them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_text(value):
    """A cell's text for XLSX: control characters written out as \\xNN, so one stray byte in a
    note neither breaks the export nor silently disappears."""
    text = "" if value is None else str(value)
    return _XML_ILLEGAL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def write_xlsx(path_or_file, header, rows):
    """Writes rows with every cell typed as text, so nothing is evaluated as a formula.

    A text cell is never a formula, so unlike CSV no apostrophe is needed (it would show).
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()

    def text_cells(values):
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=xlsx_text(value))
            cell.data_type = "s"
            cells.append(cell)
        return cells

    sheet.append(text_cells(header))
    for row in rows:
        sheet.append(text_cells(row))
    workbook.save(path_or_file)


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_OFFICE}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OFFICE}.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


class _Chunks:
    """A write-only file for zipfile that hands out what was written since the last take()."""

    def __init__(self):
        self.parts = []

    def write(self, data):
        self.parts.append(bytes(data))
        return len(data)

    def flush(self):
        pass

    def take(self):
        data, self.parts = b"".join(self.parts), []
        return data


def xlsx_chunks(header, rows, rows_per_chunk=5000):
    """Yields an XLSX workbook of `rows` as it is written, so a million rows stream in flat memory.

    Every cell is an inline string, which no spreadsheet evaluates (the same guarantee as
    write_xlsx's text cells), its text passed through xlsx_text. zipfile writes to an unseekable
    stream with data descriptors, so nothing is held back for a seek at the end."""
    import zipfile
    from xml.sax.saxutils import escape

    out = _Chunks()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in _XLSX_PARTS.items():
            archive.writestr(name, content)
        yield out.take()
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}"><sheetData>'.encode())
            for count, row in enumerate(itertools.chain([header], rows), start=1):
                cells = "".join(
                    f'<c t="inlineStr"><is><t xml:space="preserve">{escape(xlsx_text(value))}</t></is></c>'
                    for value in row
                )
                sheet.write(f"<row>{cells}</row>".encode())
                if count % rows_per_chunk == 0:
                    yield out.take()
            sheet.write(b"</sheetData></worksheet>")
    yield out.take()
