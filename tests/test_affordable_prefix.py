"""The longest prefix of a chunk that the balance pays for (sending_rules._affordable) is what
pricing the messages one by one finds, tier crossings included, for any chunk and balance."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns import money
from campaigns.sending_rules import _affordable


def one_by_one(rows, balance, category, volume):
    segments, count = 0, 0
    for row in rows:
        if money.price_of(category, segments + row[3], volume) > balance:
            break
        segments += row[3]
        count += 1
    return count


@settings(max_examples=300, deadline=None)
@given(
    segments=st.lists(st.integers(min_value=1, max_value=8), max_size=60),
    balance=st.decimals(min_value=-1, max_value=30, places=4),
    category=st.sampled_from(["industry", "promotion"]),
    # Volumes about a tier boundary as well as far from one.
    volume=st.one_of(st.integers(0, 50), st.integers(999_950, 1_000_050), st.integers(4_999_950, 5_000_050)),
)
def test_the_bisection_finds_the_prefix_pricing_one_by_one_finds(segments, balance, category, volume):
    rows = [(i, "+8613800000000", [], n) for i, n in enumerate(segments)]
    assert _affordable(rows, balance, category, volume) == one_by_one(rows, balance, category, volume)


def test_a_chunk_the_balance_covers_is_claimed_whole_and_one_it_cannot_start_is_not():
    rows = [(i, "+8613800000000", [], 1) for i in range(400)]
    assert _affordable(rows, Decimal("1000"), "industry", 0) == 400
    assert _affordable(rows, Decimal("0.01"), "industry", 0) == 0
    price = money.price_of("industry", 1, 0)
    assert _affordable(rows, price * 7, "industry", 0) == 7


@settings(max_examples=300, deadline=None)
@given(
    segments=st.integers(min_value=0, max_value=5_000_000),
    category=st.sampled_from(["industry", "promotion"]),
    volume=st.integers(min_value=0, max_value=6_000_000),
)
def test_no_volume_makes_segments_dearer_than_the_claim_skips_the_prefix_for(segments, category, volume):
    """The claim reads no month volume when the balance covers money.most_for: sound only if no
    volume prices the segments above it."""
    assert money.price_of(category, segments, volume) <= money.most_for(category, segments)
