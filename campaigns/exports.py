"""Exports of rows operators download (rejected rows, opt-outs), safe to open in a spreadsheet.

In CSV, a cell that starts with = + - @ or a control character is a formula to Excel and
LibreOffice (CSV injection); such cells get a leading apostrophe, which spreadsheets show as text.
Plain numbers such as +8613800138000 or -12.5 cannot be formulas and are left alone. XLSX cells
are typed as text, which no spreadsheet evaluates.
"""

import csv
import io
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
