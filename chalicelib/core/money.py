"""Money is integers in base units inside; decimal strings on the wire (rule 7).

`parse_amount` is strict: only a JSON string of digits with at most `decimals` fraction digits
passes. Floats, bools, NaN, infinities, exponents, signs and excess decimals are refused, so no
amount is ever rounded on its way in.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.core.errors import BadRequest

DECIMAL_RE = re.compile(r"^(0|[1-9][0-9]*)(\.([0-9]+))?$")
# uint256 is the largest amount any EVM transfer can carry.
MAX_UINT256 = 2**256 - 1
# uint256 has 78 digits and no token has more than 77 decimals: anything longer is refused before
# int() sees it (which would refuse more than 4,300 digits with a ValueError).
MAX_AMOUNT_CHARS = 160


def parse_amount(
    value: Any,
    decimals: int,
    *,
    field: str = "amount",
    positive: bool = True,
    maximum: int | None = None,
) -> int:
    """A decimal string -> integer base units; BadRequest naming `field` otherwise."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise BadRequest(
            f'{field} must be a decimal string, e.g. "1.5"',
            code="invalid_amount",
            details={"field": field},
        )
    text = value.strip()
    match = DECIMAL_RE.fullmatch(text) if len(text) <= MAX_AMOUNT_CHARS else None
    if not match:
        raise BadRequest(
            f"{field} must be a plain non-negative decimal number",
            code="invalid_amount",
            details={"field": field},
        )
    whole, fraction = match.group(1), match.group(3) or ""
    if len(fraction) > decimals:
        raise BadRequest(
            f"{field} has more than {decimals} decimal places",
            code="invalid_amount",
            details={"field": field, "decimals": decimals},
        )
    units = int(whole) * 10**decimals + int((fraction or "0").ljust(decimals, "0")[:decimals] or 0)
    if positive and units <= 0:
        raise BadRequest(
            f"{field} must be greater than zero", code="invalid_amount", details={"field": field}
        )
    limit = MAX_UINT256 if maximum is None else maximum
    if units > limit:
        raise BadRequest(
            f"{field} is above the maximum of {format_amount(limit, decimals)}",
            code="invalid_amount",
            details={"field": field},
        )
    return units


def format_amount(units: int, decimals: int) -> str:
    """Integer base units -> the shortest exact decimal string ("1.5", "2", "0.000001")."""
    sign = "-" if units < 0 else ""
    units = abs(units)
    whole, fraction = divmod(units, 10**decimals) if decimals else (units, 0)
    if not fraction:
        return f"{sign}{whole}"
    digits = str(fraction).rjust(decimals, "0").rstrip("0")
    return f"{sign}{whole}.{digits}"
