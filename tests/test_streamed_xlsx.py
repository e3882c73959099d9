"""campaigns.exports.xlsx_chunks: a workbook written while it is read, every cell text."""

import io

from openpyxl import load_workbook

from campaigns.exports import xlsx_chunks


def test_the_workbook_starts_before_the_rows_are_read_and_opens_whole():
    consumed = []

    def rows():
        for n in range(12_000):
            consumed.append(n)
            yield [f"+86138{n:08d}", "=HYPERLINK(1)" if n == 1 else "李四"]

    chunks = xlsx_chunks(["phone", "note"], rows(), rows_per_chunk=5000)
    first = next(chunks)
    assert first.startswith(b"PK") and consumed == []
    second = next(chunks)
    assert second and len(consumed) < 12_000
    workbook = load_workbook(io.BytesIO(first + second + b"".join(chunks)))
    cells = list(workbook.active.iter_rows())
    assert len(cells) == 12_001
    assert [c.value for c in cells[0]] == ["phone", "note"]
    assert cells[2][1].value == "=HYPERLINK(1)" and cells[2][1].data_type == "s"
    assert cells[3][0].value == "+8613800000002"


def test_characters_xml_cannot_hold_are_written_out_and_markup_is_escaped():
    workbook = load_workbook(io.BytesIO(b"".join(xlsx_chunks(["a"], [["x\x01<b>&"]]))))
    assert workbook.active["A2"].value == "x\\x01<b>&"
