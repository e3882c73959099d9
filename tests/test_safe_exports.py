import io

import pytest
from openpyxl import load_workbook

from campaigns.exports import csv_lines, safe_cell, write_xlsx

HOSTILE = ["=cmd|' /C calc'!A0", "+SUM(A1:A2)", "-2+3", "@SUM(1)", "\t=1", '=HYPERLINK("http://x")']


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_like_cell_is_made_inert(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["+8613800138000", "-12.5", "13800138000", "张三", "", "a=b"])
def test_numbers_and_ordinary_text_are_left_alone(value):
    assert safe_cell(value) == value


def test_the_csv_export_starts_with_a_bom_and_neutralises_formulas():
    text = "".join(csv_lines(["row", "cells"], [[1, "=1+1"], [2, "张三"]]))
    assert text.startswith("\ufeff")
    assert "'=1+1" in text and "张三" in text


def test_the_xlsx_export_stores_formulas_as_text():
    out = io.BytesIO()
    write_xlsx(out, ["row", "value"], [[1, "=1+1"], [2, "+8613800138000"]])
    out.seek(0)
    sheet = load_workbook(out).active
    assert sheet["B2"].value == "=1+1"  # a text cell: shown as typed, never evaluated
    assert sheet["B2"].data_type == "s"
    assert sheet["B3"].value == "+8613800138000"
