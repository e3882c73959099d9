"""The one masking rule for numbers shown to read-only members (sms.masking)."""

import pytest

from sms.masking import mask_number


@pytest.mark.parametrize(
    "number, masked",
    [
        ("13800138000", "138****8000"),  # the reference's example
        ("+8613800138000", "+86138****8000"),  # E.164 as stored: the country code stays
        ("+85291234567", "+85291****67"),  # short national numbers still hide four digits
        ("+12025550123", "+1202****123"),
        ("+447911123456", "+44791****456"),
        ("8613800138000", "861******8000"),  # without the +, the country code cannot be told apart
    ],
)
def test_numbers_keep_their_country_code_and_hide_the_middle(number, masked):
    assert mask_number(number) == masked


@pytest.mark.parametrize(
    "cell, masked",
    [
        ("138 0013 8000", "138 **** 8000"),
        ("138-0013-8000", "138-****-8000"),
        ("13800138000.0", "138*****000.0"),
        ("１３８００１３８０００", "１３８****８０００"),  # full-width digits are digits too
        ("12345", "****5"),
        ("1234", "****"),
    ],
)
def test_raw_cells_hide_digits_and_keep_everything_else_in_place(cell, masked):
    assert mask_number(cell) == masked


@pytest.mark.parametrize("value", [None, "", "abc", "张三"])
def test_values_without_digits_are_left_alone(value):
    assert mask_number(value) == value


def test_at_least_four_digits_are_hidden_and_never_more_than_seven_shown():
    for length in range(1, 20):
        masked = mask_number("9" * length)
        assert masked.count("*") >= min(4, length)
        assert length - masked.count("*") <= 7
