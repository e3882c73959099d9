import codecs

import pytest
from openpyxl import Workbook

from campaigns.recipient_files import FileProblem, read_rows


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rows(path):
    return list(read_rows(path, path.name))


def test_utf8_csv_with_a_header_row_streams_every_row(tmp_path):
    path = write(tmp_path, "a.csv", "phone,name\n13800138000,张三\n13900139000,李四\n".encode())
    assert rows(path) == [(1, ["phone", "name"]), (2, ["13800138000", "张三"]), (3, ["13900139000", "李四"])]


def test_utf8_with_bom_loses_the_bom(tmp_path):
    path = write(tmp_path, "a.csv", codecs.BOM_UTF8 + "号码,姓名\n13800138000,张三\n".encode())
    assert rows(path)[0] == (1, ["号码", "姓名"])


def test_gbk_csv_as_saved_by_chinese_excel_is_decoded(tmp_path):
    path = write(tmp_path, "a.csv", "号码,姓名\r\n13800138000,张三\r\n".encode("gbk"))
    assert rows(path) == [(1, ["号码", "姓名"]), (2, ["13800138000", "张三"])]


def test_utf16_unicode_text_from_excel_is_tab_separated(tmp_path):
    path = write(tmp_path, "a.txt", "号码\t姓名\r\n13800138000\t张三\r\n".encode("utf-16"))
    assert rows(path) == [(1, ["号码", "姓名"]), (2, ["13800138000", "张三"])]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed(tmp_path, delimiter):
    text = delimiter.join(["phone", "name", "code"]) + "\n" + delimiter.join(["13800138000", "Ann", "A1"]) + "\n"
    path = write(tmp_path, "a.csv", text.encode())
    assert rows(path)[1] == (2, ["13800138000", "Ann", "A1"])


def test_a_txt_file_has_one_number_a_line(tmp_path):
    path = write(tmp_path, "a.txt", b"13800138000\n13900139000\n")
    assert rows(path) == [(1, ["13800138000"]), (2, ["13900139000"])]


def test_xlsx_numbers_come_back_without_the_float_tail(tmp_path):
    workbook = Workbook()
    workbook.active.append(["phone", "name"])
    workbook.active.append([13800138000, "张三"])
    path = tmp_path / "a.xlsx"
    workbook.save(path)
    assert rows(path) == [(1, ["phone", "name"]), (2, ["13800138000", "张三"])]


@pytest.mark.parametrize(
    "name, data, code",
    [
        ("a.doc", b"13800138000\n", "extension"),
        ("a.csv", b"", "empty"),
        ("a.csv", b"  \n\n", "empty"),
        ("a.csv", b"\x00\x01\x02\x03binary", "binary"),
        ("a.csv", b"PK\x03\x04 an xlsx renamed to csv", "binary"),
        ("a.xlsx", b"13800138000\n", "not_xlsx"),
        ("a.csv", b"abc\x80\xff\xfe\xfd not any text encoding", "encoding"),
        ("a.txt", codecs.BOM_UTF16_LE + b"1\x003", "encoding"),
    ],
)
def test_a_bad_file_is_refused_with_a_reason(tmp_path, name, data, code):
    path = write(tmp_path, name, data)
    with pytest.raises(FileProblem) as problem:
        rows(path)
    assert problem.value.code == code


def test_an_encoding_error_after_the_sample_names_its_row(tmp_path):
    good = "13800138000,张三\n".encode() * 10_000  # more than the 64 KiB sample
    path = write(tmp_path, "a.csv", good + b"13900139000,\xff\xfe\n")
    with pytest.raises(FileProblem) as problem:
        rows(path)
    assert problem.value.code == "encoding"
    assert problem.value.params["row"] > 9_000


def test_xlsx_rows_keep_their_real_row_numbers_and_column_positions(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"], sheet["B1"] = "phone", "name"
    sheet["A3"], sheet["C3"] = 13900139000, "gap in B"
    sheet["A4"] = "=1+1"  # a formula without a cached value reads as empty
    sheet["A5"], sheet["B5"] = 1.5, True
    path = tmp_path / "a.xlsx"
    workbook.save(path)
    assert rows(path) == [
        (1, ["phone", "name"]),
        (3, ["13900139000", "", "gap in B"]),
        (4, [""]),
        (5, ["1.5", "TRUE"]),
    ]


def test_xlsx_rich_text_and_inline_strings_read_as_plain_text(tmp_path):
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    workbook = Workbook()
    workbook.active["A1"] = CellRichText(["138", TextBlock(InlineFont(b=True), "0013"), "8000"])
    path = tmp_path / "a.xlsx"
    workbook.save(path)
    assert rows(path) == [(1, ["13800138000"])]


def test_an_xlsx_with_its_sheet_missing_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(FileProblem) as problem:
        rows(path)
    assert problem.value.code in {"no_sheet", "not_xlsx"}


def test_the_packed_shared_string_table_returns_every_entry_across_chunks():
    from campaigns.xlsx import SharedStrings

    table = SharedStrings()
    texts = [f"值{i}" if i % 3 else f"v{i}" for i in range(SharedStrings.CHUNK + 10)]
    for text in texts:
        table.append(text)
    table.finish()
    assert len(table) == len(texts)
    assert [table[i] for i in (0, 1, SharedStrings.CHUNK - 1, SharedStrings.CHUNK, len(texts) - 1)] == [
        texts[0],
        texts[1],
        texts[SharedStrings.CHUNK - 1],
        texts[SharedStrings.CHUNK],
        texts[-1],
    ]
    with pytest.raises(IndexError):
        table[len(texts)]


def test_a_shared_string_xlsx_as_excel_writes_it_reads_back(tmp_path):
    from campaigns.management.commands.bench_import import generate_rows, write_xlsx

    path = tmp_path / "excel.xlsx"
    write_xlsx(path, 50)
    expected = [["phone", "order", "name"], *generate_rows(50)]
    assert [cells for _n, cells in rows(path)] == expected


def _xlsx_with_sheet(tmp_path, sheet_data):
    import zipfile

    from campaigns.management.commands.bench_import import write_xlsx

    path = tmp_path / "crafted.xlsx"
    write_xlsx(path, 1)
    with zipfile.ZipFile(path) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    parts["xl/worksheets/sheet1.xml"] = (
        f'<worksheet xmlns="{main}"><sheetData>{sheet_data}</sheetData></worksheet>'.encode()
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def test_an_xlsx_cell_beyond_excels_last_column_is_refused_not_allocated(tmp_path):
    path = _xlsx_with_sheet(tmp_path, '<row r="1"><c r="ZZZZZZZ1"><v>1</v></c></row>')
    with pytest.raises(FileProblem) as problem:
        rows(path)
    assert problem.value.code == "not_xlsx"


def test_an_xlsx_that_expands_like_a_zip_bomb_is_refused(tmp_path):
    path = _xlsx_with_sheet(tmp_path, '<row r="1"><c r="A1"><v>1</v></c></row>' + " " * 5_000_000)
    with pytest.raises(FileProblem) as problem:
        rows(path)
    assert problem.value.code == "not_xlsx"
