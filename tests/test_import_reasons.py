import inspect
import re

import pytest
from django.utils import translation
from django.utils.functional import Promise

from campaigns import import_reasons, importer, numbers, recipient_files, tasks, xlsx
from campaigns.import_reasons import FILE_PROBLEMS, ROW_REASONS, failure_message, reason_message, summary_sentence
from campaigns.models import RecipientImport
from templates_app import rules


def codes_written_by(module, *patterns):
    source = inspect.getsource(module)
    return {code for pattern in patterns for code in re.findall(pattern, source)}


def file_problem_codes():
    return (
        codes_written_by(recipient_files, r'FileProblem\("(\w+)"')
        | codes_written_by(xlsx, r'XlsxError\("(\w+)"')
        | codes_written_by(importer, r'FileProblem\("(\w+)"', r'_failed\(\w+, "(\w+)"')
        | codes_written_by(tasks, r'\.fail\("(\w+)"')
    )


def test_every_number_error_code_has_a_row_message():
    assert set(numbers.ERROR_CODES) <= set(ROW_REASONS)


def test_every_variable_value_error_code_has_a_row_message():
    assert {f"variable_{code}" for code in rules.VALUE_ERROR_CODES} <= set(ROW_REASONS)


def test_every_reason_the_importer_writes_itself_has_a_message():
    written = codes_written_by(importer, r'"(missing_variable|duplicate(?:_\w+)?|blank_row)"')
    assert written == {"missing_variable", "duplicate", "duplicate_different_variables", "blank_row"}
    assert written <= set(ROW_REASONS)


def test_every_whole_file_failure_code_has_a_message():
    found = file_problem_codes()
    assert {
        "extension",
        "empty",
        "binary",
        "encoding",
        "malformed",
        "not_xlsx",
        "no_sheet",
        "too_many_rows",
        "too_few_columns",
        "unknown_attribute",
        "interrupted",
        "internal_error",
    } <= found
    assert found <= set(FILE_PROBLEMS)


def test_every_message_is_translatable():
    for message in [*ROW_REASONS.values(), *FILE_PROBLEMS.values()]:
        assert isinstance(message, Promise)


def test_scientific_notation_tells_the_operator_what_to_do():
    assert reason_message("scientific_notation") == (
        "The number was shown in scientific notation (1.38E+10) by Excel and its digits are lost; "
        "format the column as text and export the file again."
    )


def test_failure_messages_carry_their_params():
    assert failure_message("too_few_columns", {"needed": 3, "found": 1}) == (
        "The template needs 3 columns (the number and its variables) but the file has 1."
    )
    assert failure_message("too_many_rows", {"limit": 1_000_000}) == (
        "The file has more than 1,000,000 rows; split it into smaller files."
    )
    assert failure_message("malformed", {"row": 7, "detail": "field larger than field limit"}) == (
        "The CSV cannot be read at row 7: field larger than field limit."
    )


def test_a_failure_with_params_it_does_not_expect_or_lacks_still_renders():
    assert failure_message("too_few_columns", {}) == (
        "The template needs ? columns (the number and its variables) but the file has ?."
    )
    assert failure_message("not_xlsx", {"detail": "Bad CRC"}) == "The file is not a valid Excel workbook (.xlsx)."


def test_unknown_codes_fall_back_to_a_message_naming_the_code():
    assert reason_message("something_new") == "Not imported (something_new)."
    assert failure_message("something_new") == "The file could not be imported (something_new)."


@pytest.mark.parametrize(
    "figures, expected",
    [
        (
            dict(accepted=1, rejected=0, duplicates=0, opted_out=0, segments=1),
            "Imported 1 number; removed 0 duplicates and 0 invalid; 1 segment",
        ),
        (
            dict(accepted=2, rejected=3, duplicates=1, opted_out=1, segments=4),
            "Imported 2 numbers; removed 1 duplicate and 2 invalid; 1 is on the opt-out list; 4 segments",
        ),
    ],
)
def test_the_summary_sentence_counts_in_the_singular_and_plural(figures, expected):
    imp = RecipientImport(template_id=1, **figures)
    assert summary_sentence(imp) == expected


def test_the_summary_leaves_out_segments_without_a_template():
    imp = RecipientImport(accepted=5, rejected=0, duplicates=0, opted_out=0, segments=0)
    assert summary_sentence(imp) == "Imported 5 numbers; removed 0 duplicates and 0 invalid"


def test_reason_messages_are_resolved_in_the_active_language():
    with translation.override("en"):
        resolved = import_reasons.reason_messages()
    assert set(resolved) == set(ROW_REASONS)
    assert all(type(text) is str for text in resolved.values())
