"""Streaming readers for recipient files (CSV, TXT, XLSX). No Django import.

`read_rows(path, filename)` yields (row_number, cells) one row at a time, so a 1,000,000-row file
never sits in memory. Problems with the file as a whole raise FileProblem with a stable code the
Django side translates; problems with single rows are the importer's business.
"""

import codecs
import csv
import os
import zipfile
from dataclasses import dataclass, field

EXTENSIONS = (".csv", ".txt", ".xlsx")
SAMPLE_BYTES = 64 * 1024
# What is kept of a rejected row for its report: enough to recognise it, never the 20 MB cell
# a hostile file can hold.
CELL_KEPT = 200
CELLS_KEPT = 50
CUT = "…"


def kept_cells(cells):
    """The cells of a rejected row as stored and shown: each at most CELL_KEPT characters and at
    most CELLS_KEPT of them, with "…" marking what was cut."""
    kept = [cell if len(cell) <= CELL_KEPT else cell[:CELL_KEPT] + CUT for cell in cells[:CELLS_KEPT]]
    if len(cells) > CELLS_KEPT:
        kept.append(CUT)
    return kept


@dataclass
class FileProblem(Exception):
    code: str  # extension, empty, no_rows, binary, encoding, malformed, not_xlsx, damaged, no_sheet
    params: dict = field(default_factory=dict)

    def __str__(self):
        return f"{self.code} {self.params}" if self.params else self.code


def check_extension(filename):
    ext = os.path.splitext(filename or "")[1].lower()
    if ext not in EXTENSIONS:
        raise FileProblem("extension", {"extension": ext or "-", "allowed": ", ".join(EXTENSIONS)})
    return ext


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else GB18030.

    GB18030 is a superset of GBK and GB2312, which Chinese Excel uses for "CSV".
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise FileProblem("binary")
    try:
        # final=False: the sample may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        raise FileProblem("encoding") from None


def sniff_delimiter(text_sample: str) -> str:
    lines = text_sample.splitlines()[:50]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        # A single column has no delimiter to find.
        return ","


def _text_rows(path, ext):
    with open(path, "rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    if not sample.strip():
        raise FileProblem("empty")
    encoding = detect_encoding(sample)
    row_number = 0
    try:
        with open(path, encoding=encoding, errors="strict", newline="") as handle:
            if ext == ".txt" and encoding != "utf-16":
                reader = ([line.rstrip("\r\n")] for line in handle)
            else:
                head = handle.read(SAMPLE_BYTES)
                handle.seek(0)
                reader = csv.reader(handle, delimiter=sniff_delimiter(head))
            for row_number, cells in enumerate(reader, start=1):
                yield row_number, cells
    except UnicodeError:
        raise FileProblem("encoding", {"row": row_number + 1}) from None
    except csv.Error as exc:
        raise FileProblem("malformed", {"row": row_number + 1, "detail": str(exc)}) from None


def _xlsx_rows(path):
    from campaigns.xlsx import XlsxError, iter_rows

    if not zipfile.is_zipfile(path):
        raise FileProblem("not_xlsx")
    try:
        yield from iter_rows(path)
    except XlsxError as exc:
        raise FileProblem(str(exc) if str(exc) in {"no_sheet", "not_xlsx", "damaged"} else "not_xlsx") from None


def read_rows(path, filename):
    """Yields (row_number, [cell, ...]) for every row, blank rows included (the caller skips them)."""
    ext = check_extension(filename)
    if os.path.getsize(path) == 0:
        raise FileProblem("empty")
    if ext == ".xlsx":
        yield from _xlsx_rows(path)
    else:
        with open(path, "rb") as raw:
            if raw.read(4) == b"PK\x03\x04":
                # An XLSX renamed to .csv: say so rather than report garbage rows.
                raise FileProblem("binary")
        yield from _text_rows(path, ext)


__all__ = [
    "EXTENSIONS",
    "FileProblem",
    "check_extension",
    "detect_encoding",
    "kept_cells",
    "read_rows",
    "sniff_delimiter",
]
