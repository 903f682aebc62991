"""SPEC §1: amounts, rounding and the largest-remainder split."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.money import (
    AmountError,
    format_amount,
    format_grouped,
    parse_amount,
    parse_ratio,
    ratio_text,
    round_half_up,
    split_largest_remainder,
)


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("1200000.00", 120000000),
        ("0.01", 1),
        ("7", 700),
        ("7.5", 750),
        (12, 1200),
        (Decimal("3.25"), 325),
        (0.5, 50),  # a float that is exactly two decimals
        ("10000000000000.00", 10**15),  # exactly the maximum, 10^13 yuan
    ],
)
def test_parse_accepts_exact_amounts(value, fen):
    assert parse_amount(value) == fen


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1.005", "too_many_decimals"),
        (Decimal("1E+400"), "amount_too_large"),
        ("10000000000000.01", "amount_too_large"),
        ("-1", "negative_amount"),
        ("abc", "invalid_amount"),
        ("", "invalid_amount"),
        ("1,000.00", "invalid_amount"),
        ("1e3", "invalid_amount"),
        (Decimal("NaN"), "invalid_amount"),
        (Decimal("Infinity"), "invalid_amount"),
        (0.1, "too_many_decimals"),  # binary 0.1 is not 0.10
        (True, "invalid_amount"),
        (None, "invalid_amount"),
        ([1], "invalid_amount"),
        ("0.0100000000000000000000000000001", "too_many_decimals"),  # beyond Decimal's 28 digits
        ("99999999999.999999999999999999", "too_many_decimals"),
    ],
)
def test_parse_rejects(value, code):
    with pytest.raises(AmountError) as info:
        parse_amount(value)
    assert info.value.code == code


def test_negative_and_zero_only_when_allowed():
    assert parse_amount("-2.50", allow_negative=True) == -250
    with pytest.raises(AmountError, match="greater than zero"):
        parse_amount("0.00", allow_zero=False)


def test_format():
    assert format_amount(16666667) == "166666.67"
    assert format_amount(5) == "0.05"
    assert format_amount(-250) == "-2.50"
    assert format_grouped(123456789) == "1,234,567.89"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_then_parse_round_trips(fen):
    assert parse_amount(format_amount(fen), allow_negative=True) == fen


def test_round_half_up_is_not_bankers_rounding():
    assert round_half_up(Fraction(5, 2)) == 3  # 2.5 -> 3 (half-even would give 2)
    assert round_half_up(Decimal("8333333.5")) == 8333334
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(249, 100)) == 2


def test_spec_example_4_split():
    # SPEC §3.3 example 4: 166,666.67 split 0.5 / 0.3 / 0.2 -> 83,333.34 / 50,000.00 / 33,333.33
    shares = [Decimal("0.50"), Decimal("0.30"), Decimal("0.20")]
    assert split_largest_remainder(16666667, shares) == [8333334, 5000000, 3333333]


def test_split_ties_go_to_the_earlier_part():
    assert split_largest_remainder(1, [Decimal("0.5"), Decimal("0.5")]) == [1, 0]
    assert split_largest_remainder(2, [1, 1, 1]) == [1, 1, 0]


@given(
    st.integers(min_value=0, max_value=10**15),
    st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=8),
)
def test_split_always_sums_to_the_total_and_each_part_is_within_a_fen(total, weights):
    parts = split_largest_remainder(total, weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(Fraction(part) - Fraction(total * weight, weight_sum)) < 1


def test_ratios():
    assert parse_ratio("0.7500") == Decimal("0.75")
    assert ratio_text(Fraction(29, 80)) == "0.3625"
    assert ratio_text(Fraction(1, 3)) == "0.3333"
    for bad in ("1.5", "-0.1", "0.12345", "abc", 0.5, "1e30", "NaN"):
        with pytest.raises(ValueError):
            parse_ratio(bad)
