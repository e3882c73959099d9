"""GSM-7 / UCS-2 choice and UDH concatenation of submit_sm payloads."""

import pytest

from sms.smpp.encoding import (
    ConcatReferences,
    MessageTooLong,
    decode_gsm7,
    decode_short_message,
    encode_gsm7,
    encode_text,
    is_gsm7,
    strip_udh,
)


def test_gsm7_is_sent_as_unpacked_septets():
    assert encode_gsm7("@$_A") == bytes([0x00, 0x02, 0x11, 0x41])
    assert encode_gsm7("€{") == bytes([0x1B, 0x65, 0x1B, 0x28])


def test_gsm7_decodes_back_to_the_same_text():
    text = "@£$¥èé ÄÖÑÜ§¿äöñüà Δ_ΦΓ ^{}\\[~]|€ hello\n"
    assert decode_gsm7(encode_gsm7(text)) == text


def test_160_gsm_characters_fit_one_part():
    encoded = encode_text("a" * 160)
    assert (encoded.data_coding, encoded.esm_class, encoded.units) == (0, 0, 160)
    assert encoded.parts(5) == (b"a" * 160,)


def test_161_gsm_characters_take_two_parts_of_153_and_8_with_udh():
    encoded = encode_text("a" * 161)
    parts = encoded.parts(0x2A)
    assert encoded.esm_class == 0x40
    assert [len(p) for p in parts] == [6 + 153, 6 + 8]
    assert parts[0][:6] == bytes([0x05, 0x00, 0x03, 0x2A, 0x02, 0x01])
    assert parts[1][:6] == bytes([0x05, 0x00, 0x03, 0x2A, 0x02, 0x02])


def test_extension_characters_count_two_septets():
    encoded = encode_text("€" * 80)
    assert (encoded.units, len(encoded.chunks)) == (160, 1)
    assert len(encode_text("€" * 80 + "a").chunks) == 2


def test_an_escape_pair_is_never_split_across_parts():
    encoded = encode_text("a" * 152 + "€" + "b" * 10)
    first, second = encoded.chunks
    assert len(first) == 152 and first[-1] != 0x1B
    assert second[:2] == b"\x1b\x65"
    assert decode_gsm7(first + second) == "a" * 152 + "€" + "b" * 10


def test_70_chinese_characters_fit_one_ucs2_part():
    encoded = encode_text("短" * 70)
    assert (encoded.data_coding, encoded.encoding, encoded.units, len(encoded.chunks)) == (8, "UCS-2", 70, 1)
    assert encoded.chunks[0] == "短".encode("utf-16-be") * 70


def test_71_chinese_characters_take_two_parts_of_67_and_4():
    encoded = encode_text("短" * 71)
    assert [len(c) // 2 for c in encoded.chunks] == [67, 4]
    assert encoded.parts(1)[1][:6] == bytes([0x05, 0x00, 0x03, 0x01, 0x02, 0x02])


def test_one_non_gsm_character_switches_the_whole_message_to_ucs2():
    assert not is_gsm7("Hello 你")
    assert encode_text("Hello 你").data_coding == 8


def test_an_emoji_counts_two_units_and_its_surrogate_pair_is_never_split():
    assert encode_text("😀" * 35).units == 70
    encoded = encode_text("a" * 66 + "😀" + "bbb")  # 71 units: the pair would straddle unit 67
    first, second = encoded.chunks
    assert len(first) // 2 == 66
    assert second.decode("utf-16-be") == "😀bbb"


def test_an_empty_message_is_one_empty_part():
    assert encode_text("").chunks == (b"",)


def test_more_than_255_parts_is_refused():
    with pytest.raises(MessageTooLong):
        encode_text("a" * 153 * 256)


def test_references_increment_per_destination_and_wrap_at_eight_bits():
    refs = ConcatReferences()
    first = refs.next("8613800000001")
    assert refs.next("8613800000001") == (first + 1) & 0xFF
    other = refs.next("8613800000002")
    assert refs.next("8613800000002") == (other + 1) & 0xFF
    values = [refs.next("8613800000001") for _ in range(300)]
    assert all(0 <= v <= 255 for v in values)
    assert values[256] == values[0]


def test_the_reference_table_forgets_the_oldest_destinations_first():
    refs = ConcatReferences(limit=2)
    for number in ("1", "2", "3"):
        refs.next(number)
    assert list(refs._next) == ["2", "3"]


def test_strip_udh_returns_the_concatenation_header():
    assert strip_udh(b"\x05\x00\x03\x07\x03\x02hi") == (b"hi", (7, 3, 2))
    assert strip_udh(b"\x06\x08\x04\x01\x02\x03\x01hi") == (b"hi", (0x0102, 3, 1))


def test_incoming_text_follows_its_data_coding():
    assert decode_short_message("退订".encode("utf-16-be"), 8) == "退订"
    assert decode_short_message(b"caf\xe9", 3) == "café"
    assert decode_short_message(encode_gsm7("T@D"), 0) == "T@D"
    assert decode_short_message("退订".encode(), 0) == "退订"
