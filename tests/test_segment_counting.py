from templates_app.rules import Segments, count_segments, signed_text


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
        "GSM-7", 158, 1, 160,
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
    text = signed_text("华为云", "验证码123456")
    assert text == "【华为云】验证码123456"
    assert count_segments("【华为云】").length == 5
    assert count_segments(text).length == 14


def test_a_signature_can_push_a_message_into_a_second_segment():
    assert count_segments("验" * 66).segments == 1
    assert count_segments(signed_text("华为云", "验" * 66)).segments == 2
