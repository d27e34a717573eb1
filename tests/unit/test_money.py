"""Money: strict decimal strings in, exact integers inside, shortest exact strings out."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.errors import BadRequest
from chalicelib.core.money import MAX_UINT256, format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("1", 10**18),
        ("1.5", 15 * 10**17),
        ("0.000000000000000001", 1),
        ("123456789.123456789123456789", 123456789_123456789123456789),
        ("10", 10 * 10**18),
        ("0.1", 10**17),
    ],
)
def test_parse_amount_gives_exact_integers(text: str, units: int) -> None:
    result = parse_amount(text, 18)
    assert result == units and type(result) is int


def test_parse_amount_with_other_decimals() -> None:
    assert parse_amount("2.5", 6) == 2_500_000
    assert parse_amount("7", 0) == 7
    assert parse_amount("0", 18, positive=False) == 0


@pytest.mark.parametrize(
    "value",
    [
        1.5, 1, True, False, None, 0, b"1", ["1"], {"v": "1"},
        "NaN", "nan", "Infinity", "-Infinity", "inf",
        "-1", "+1", "1e3", "1E3", "1.", ".5", "01", "00.1", "0", "0.0", "0.000",
        "", " ", "1,5", "1 000", "0x10", "1_000", "١",  # arabic-indic digit one
        "0.0000000000000000001",  # 19 decimals
        "1.1234567890123456789",
    ],
)
def test_parse_amount_rejects_anything_but_a_plain_positive_decimal_string(value: Any) -> None:
    with pytest.raises(BadRequest) as info:
        parse_amount(value, 18)
    assert info.value.code == "invalid_amount"
    assert info.value.status == 400
    assert info.value.details["field"] == "amount"


def test_parse_amount_rejects_too_many_decimals_for_the_asset() -> None:
    assert parse_amount("1.123456", 6) == 1_123_456
    with pytest.raises(BadRequest) as info:
        parse_amount("1.1234567", 6, field="price")
    assert info.value.code == "invalid_amount"
    assert info.value.details == {"field": "price", "decimals": 6}
    with pytest.raises(BadRequest):
        parse_amount("1.5", 0)


def test_parse_amount_rejects_amounts_above_the_maximum() -> None:
    assert parse_amount("100", 2, maximum=10_000) == 10_000
    with pytest.raises(BadRequest) as info:
        parse_amount("100.01", 2, maximum=10_000)
    assert info.value.code == "invalid_amount"
    assert parse_amount(str(MAX_UINT256), 0) == MAX_UINT256
    with pytest.raises(BadRequest) as info:
        parse_amount(str(MAX_UINT256 + 1), 0)
    assert info.value.code == "invalid_amount"
    with pytest.raises(BadRequest):
        parse_amount("1" + "0" * 80, 18)


@pytest.mark.parametrize(
    ("units", "decimals", "text"),
    [
        (10**18, 18, "1"),
        (15 * 10**17, 18, "1.5"),
        (1, 18, "0.000000000000000001"),
        (0, 18, "0"),
        (1_000_000, 6, "1"),
        (1_000_001, 6, "1.000001"),
        (42, 0, "42"),
    ],
)
def test_format_amount_gives_the_shortest_exact_string(
    units: int, decimals: int, text: str
) -> None:
    assert format_amount(units, decimals) == text


@given(st.integers(min_value=0, max_value=MAX_UINT256), st.integers(min_value=0, max_value=36))
def test_format_then_parse_round_trips(units: int, decimals: int) -> None:
    text = format_amount(units, decimals)
    if units > 0:
        assert parse_amount(text, decimals) == units
    else:
        assert text == "0"
        assert parse_amount(text, decimals, positive=False) == 0
