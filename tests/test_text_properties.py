"""Property tests: what sms.text counts is what the SMPP encoder sends.

The segment count planned for a message is charged to the rate bucket and stored on its row; the
encoder's parts are what the SMSC receives. For random texts of every kind the two must agree,
and the encoder's parts must be a faithful, greedy cut of the text.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from sms.smpp.encoding import decode_gsm7, encode_text
from sms.text import (
    ESC,
    GSM7_BASIC,
    GSM7_EXTENSION,
    GSM7_PART,
    UCS2_PART,
    count_segments,
    count_template,
    render,
    segment_counter,
    split,
)

GSM_BASIC = st.sampled_from(sorted(GSM7_BASIC))
GSM_EXTENSION = st.sampled_from(sorted(GSM7_EXTENSION))
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
EMOJI = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
ANY = st.characters(exclude_categories=("Cs",))  # a lone surrogate cannot be encoded at all

ALPHABETS = {
    "gsm basic": GSM_BASIC,
    "gsm with extension": st.one_of(GSM_BASIC, GSM_BASIC, GSM_BASIC, GSM_EXTENSION),
    "cjk": CJK,
    "cjk with emoji": st.one_of(CJK, CJK, CJK, EMOJI),
    "mixed": st.one_of(GSM_BASIC, GSM_EXTENSION, CJK, EMOJI, ANY),
}


@st.composite
def texts(draw):
    alphabet = draw(st.sampled_from(sorted(ALPHABETS)))
    return draw(st.text(ALPHABETS[alphabet], min_size=1, max_size=700))


@st.composite
def near_a_boundary(draw):
    """A two-unit character placed around the end of a part, where the cut has to move."""
    filler, special, part = draw(
        st.sampled_from([("a", "€", GSM7_PART), ("验", "😀", UCS2_PART), ("a", "😀", UCS2_PART)])
    )
    before = draw(st.integers(min_value=part - 3, max_value=3 * part + 2))
    after = draw(st.integers(min_value=0, max_value=2 * part))
    return filler * before + special + filler * after


def units_of(chunk, encoding):
    return len(chunk) if encoding == "GSM-7" else len(chunk) // 2


def assert_counted_as_sent(text):
    counted = count_segments(text)
    encoded = encode_text(text)
    assert counted.segments == len(encoded.chunks)
    assert (counted.length, counted.encoding) == (encoded.units, encoded.encoding)

    # The parts are the text, cut greedily: each is as long as its part allows, one unit shorter
    # only where a pair would otherwise be split.
    if encoded.encoding == "GSM-7":
        assert decode_gsm7(b"".join(encoded.chunks)) == text
    else:
        assert b"".join(encoded.chunks).decode("utf-16-be") == text
    if len(encoded.chunks) > 1:
        part = GSM7_PART if encoded.encoding == "GSM-7" else UCS2_PART
        for chunk in encoded.chunks[:-1]:
            if encoded.encoding == "GSM-7":
                dangling = chunk[-1] == ESC
            else:
                dangling = 0xD8 <= chunk[-2] <= 0xDB
            assert not dangling
            assert units_of(chunk, encoded.encoding) in (part, part - 1)
        assert 0 < units_of(encoded.chunks[-1], encoded.encoding) <= part


@settings(max_examples=400, deadline=None)
@given(texts())
def test_the_planned_segments_are_the_parts_the_encoder_sends(text):
    assert_counted_as_sent(text)


@settings(max_examples=300, deadline=None)
@given(near_a_boundary())
def test_a_pair_at_a_part_boundary_is_counted_as_the_encoder_cuts_it(text):
    assert_counted_as_sent(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(texts(), min_size=1, max_size=4),
    st.lists(st.integers(min_value=0, max_value=200), min_size=3, max_size=3),
    st.sampled_from([None, "华为云", "Acme"]),
)
def test_a_template_at_its_maximum_counts_as_the_text_built_with_that_many_digits(fixed, lengths, signature):
    content = "".join(piece + f"${{{i}}}" for i, piece in enumerate(fixed[:-1], start=1)) + fixed[-1]
    pieces = split(content, signature)
    lengths = lengths[: len(pieces) - 1]
    built = render(pieces, ["0" * n for n in lengths])
    assert count_template(pieces, lengths) == count_segments(built)
    assert count_segments(built).segments == len(encode_text(built).chunks)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        ["您的订单${1}已发货，收货人${2}。", "验" * 60 + "${1}" + "验" * 66 + "${2}", "Order ${1} for ${2}"]
    ),
    st.sampled_from([None, "华为云"]),
    st.lists(texts(), min_size=0, max_size=3),
)
def test_counting_an_imported_rows_values_gives_the_encoders_parts(content, signature, values):
    pieces = split(content, signature)
    built = render(pieces, values)
    assert segment_counter(pieces)(values) == count_segments(built).segments
    if built:
        assert segment_counter(pieces)(values) == len(encode_text(built).chunks)
