import pytest

from campaigns.numbers import (
    EMPTY,
    INVALID,
    NOT_A_NUMBER,
    NOT_MOBILE,
    SCIENTIFIC_NOTATION,
    normalise_number,
)


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+8613800138000",
        "008613800138000",
        "8613800138000",
        "138 0013 8000",
        "138-0013-8000",
        "(+86) 138-0013-8000",
        "１３８００１３８０００",  # full-width digits, as typed with a Chinese input method
        "13800138000.0",  # Excel float artefact
        " 13800138000\t",
        13800138000,
    ],
)
def test_every_usual_form_of_a_mainland_mobile_becomes_the_same_e164(raw):
    assert normalise_number(raw, "CN") == ("+8613800138000", None)


def test_scientific_notation_is_reported_not_guessed():
    assert normalise_number("1.38001E+10", "CN") == (None, SCIENTIFIC_NOTATION)
    assert normalise_number("1.38001e10", "CN") == (None, SCIENTIFIC_NOTATION)


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_an_empty_cell_is_reported_as_empty(raw):
    assert normalise_number(raw, "CN") == (None, EMPTY)


@pytest.mark.parametrize("raw", ["abc", "138001380OO", "12", "=cmd|' /C calc'!A0"])
def test_text_that_is_no_number_is_reported(raw):
    assert normalise_number(raw, "CN") == (None, NOT_A_NUMBER)


@pytest.mark.parametrize("raw", ["12345678901", "1380013800", "138001380001"])
def test_a_number_with_the_wrong_digits_is_invalid(raw):
    assert normalise_number(raw, "CN") == (None, INVALID)


def test_a_mainland_landline_is_refused_for_sms():
    assert normalise_number("010-12345678", "CN") == (None, NOT_MOBILE)
    assert normalise_number("010-12345678", "CN", mobile_only=False) == ("+861012345678", None)


def test_international_numbers_parse_with_their_country_code():
    assert normalise_number("+44 7911 123456", "CN") == ("+447911123456", None)
    assert normalise_number("0044 7911 123456", "CN") == ("+447911123456", None)


def test_an_msisdn_without_plus_from_another_country_is_read_as_international():
    assert normalise_number("447911123456", "CN") == ("+447911123456", None)


def test_the_application_region_decides_national_numbers():
    assert normalise_number("07911 123456", "GB") == ("+447911123456", None)
