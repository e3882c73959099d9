"""sms.text: variables, rendering, signing and segment counting."""

from sms.smpp.encoding import encode_text
from sms.text import Segments, Variable, count_segments, count_template, find_variables, render, runs, sign, split

# --- Variables ---------------------------------------------------------------------------------


def test_variables_are_numbered_in_order_of_appearance():
    content = "尊敬的${2}，您的订单${1}已发货"
    assert find_variables(content) == [
        Variable(index=1, label="2", start=3, end=7),
        Variable(index=2, label="1", start=12, end=16),
    ]


def test_typed_labels_are_variables():
    content = "${PHONE}${CHARDIGIT}${DATETIME}${MONEY}${TEXT}${NEWTEXT}"
    labels = [v.label for v in find_variables(content)]
    assert labels == ["PHONE", "CHARDIGIT", "DATETIME", "MONEY", "TEXT", "NEWTEXT"]


def test_numeric_labels_run_from_1_to_20():
    assert [v.label for v in find_variables("${1} ${20} ${21} ${0}")] == ["1", "20"]


# --- Rendering ---------------------------------------------------------------------------------


def test_the_signature_comes_first_in_its_brackets():
    assert sign("华为云", "验证码123456") == "【华为云】验证码123456"


def test_no_signature_leaves_the_content_as_it_is():
    assert sign(None, "No signature") == sign("", "No signature") == "No signature"


def test_a_template_splits_into_the_signed_pieces_around_its_variables():
    assert split("Hi ${1}, your code ${2} expires ${3}.", "Acme") == ("【Acme】Hi ", ", your code ", " expires ", ".")
    assert split("No variables") == ("No variables",)


def test_values_go_in_by_position_and_a_missing_one_is_empty():
    pieces = split("Hi ${1}, your code ${2} expires ${3}.", "Acme")
    assert render(pieces, ["Ann", "X9", "today"]) == "【Acme】Hi Ann, your code X9 expires today."
    assert render(pieces, ["Ann"]) == "【Acme】Hi Ann, your code  expires ."
    assert render(split("No variables"), []) == "No variables"


def test_runs_show_values_where_given_and_the_variable_as_written_elsewhere():
    assert runs("Hi ${1}, code ${CHARDIGIT}", ["Ann"]) == [
        ("Hi ", False),
        ("Ann", True),
        (", code ", False),
        ("${CHARDIGIT}", True),
    ]
    assert runs("${1} left", []) == [("${1}", True), (" left", False)]


# --- Segments ----------------------------------------------------------------------------------


def test_an_empty_message_is_zero_segments():
    assert count_segments("") == Segments(length=0, segments=0, encoding="GSM-7", per_segment=160)


def test_a_68_character_chinese_message_is_one_segment():
    result = count_segments("验" * 68)
    assert (result.encoding, result.length, result.segments) == ("UCS-2", 68, 1)


def test_a_70_character_chinese_message_still_fits_one_segment():
    assert count_segments("验" * 70).segments == 1


def test_a_71_character_chinese_message_splits_into_67_character_segments():
    result = count_segments("验" * 71)
    assert (result.segments, result.per_segment) == (2, 67)


def test_a_134_character_chinese_message_is_two_segments():
    assert count_segments("验" * 134).segments == 2


def test_a_135_character_chinese_message_is_three_segments():
    assert count_segments("验" * 135).segments == 3


def test_a_158_character_gsm_message_is_one_segment():
    result = count_segments("a" * 158)
    assert (result.encoding, result.length, result.segments, result.per_segment) == (
        "GSM-7",
        158,
        1,
        160,
    )


def test_a_164_character_gsm_message_is_two_segments():
    result = count_segments("a" * 164)
    assert (result.segments, result.per_segment) == (2, 153)


def test_a_320_character_gsm_message_is_three_segments():
    assert count_segments("a" * 320).segments == 3


def test_gsm_extension_characters_count_twice():
    result = count_segments("^{}\\[~]|€\f")
    assert (result.encoding, result.length) == ("GSM-7", 20)


def test_extension_characters_can_push_a_gsm_message_into_a_second_segment():
    assert count_segments("a" * 159 + "€").segments == 2


def test_gsm_basic_accented_letters_stay_gsm():
    assert count_segments("Café à Zürich, Ñoño").encoding == "GSM-7"


def test_one_character_outside_gsm_switches_the_whole_message_to_ucs2():
    result = count_segments("a" * 100 + "ç")
    assert (result.encoding, result.segments) == ("UCS-2", 2)


def test_an_emoji_counts_two_utf16_code_units():
    result = count_segments("Hi 😀")
    assert (result.encoding, result.length) == ("UCS-2", 5)


def test_the_signature_and_its_brackets_count_in_the_length():
    assert count_segments("【华为云】").length == 5
    assert count_segments(sign("华为云", "验证码123456")).length == 14


def test_a_signature_can_push_a_message_into_a_second_segment():
    assert count_segments("验" * 66).segments == 1
    assert count_segments(sign("华为云", "验" * 66)).segments == 2


def test_an_escape_pair_at_a_part_boundary_costs_a_part_as_the_encoder_sends_it():
    # Issue 9: planned as 2 segments (ceil of 306 / 153) while the encoder sends 3, because the
    # first part cannot end between ESC and the euro sign's code.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text) == Segments(length=306, segments=3, encoding="GSM-7", per_segment=153)
    assert len(encode_text(text).chunks) == 3


def test_a_surrogate_pair_at_a_part_boundary_costs_a_part_as_the_encoder_sends_it():
    text = "验" * 66 + "😀" + "验" * 67
    assert count_segments(text).segments == len(encode_text(text).chunks) == 3


def test_an_emoji_within_a_part_costs_nothing_more_than_its_two_units():
    text = "验" * 60 + "😀" + "验" * 72
    assert count_segments(text).segments == len(encode_text(text).chunks) == 2


# --- Templates at their maximum length ---------------------------------------------------------


def test_a_template_counts_each_variable_at_its_maximum_length():
    # The 56-character notice of issue 9 with a TEXT variable of at most 20: 5 + 56 + 20 = 81.
    pieces = split("通" * 56 + "${1}", "华为云")
    assert count_template(pieces, [20]) == Segments(length=81, segments=2, encoding="UCS-2", per_segment=67)


def test_a_template_counts_as_its_text_with_every_variable_at_its_maximum_in_digits():
    content = "Code ${1}: {€} valid for ${2} minutes"
    lengths = [6, 140]
    built = render(split(content), ["0" * n for n in lengths])
    assert count_template(split(content), lengths) == count_segments(built)


def test_a_huge_maximum_length_is_counted_without_building_the_text():
    # Building 2 × 999999999 characters took 4 GB; the count is arithmetic on the pieces.
    result = count_template(split("Order ${1} for ${2}", "华为云"), [999_999_999, 999_999_999])
    assert result.length == len("【华为云】Order  for ") + 2 * 999_999_999
    assert result.segments == -(-result.length // 67)


def test_the_fixed_text_decides_the_encoding_of_a_template():
    assert count_template(split("Order ${1} shipped"), [20]).encoding == "GSM-7"
    assert count_template(split("Order ${1} shipped", "Acme"), [20]).encoding == "UCS-2"
