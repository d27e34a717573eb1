"""Trading pairs, their tick sizes and bounds, and the exact price arithmetic.

A pair is BASE/QUOTE. BASE is always the community token. QUOTE is the native coin or a token on
the same chain (an on-chain pair: both sides settle here) or an asset on another chain (an
external pair: QUOTE moves there under a hash lock, only sell orders exist).

Pairs come from the `OTC_PAIRS` setting, a JSON list such as
`[{"pair": "SKT/ETH", "quote": "native", "tick": "0.0001", "min": "1", "max": "100000"},
  {"pair": "SKT/BTC", "quote": "external", "quote_decimals": 8, "tick": "0.00000001"}]`.
A token QUOTE is given by its contract address (`"quote": "0x…"`, with `quote_decimals`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.core.addresses import normalize_address
from chalicelib.core.assets import NATIVE, NATIVE_DECIMALS
from chalicelib.core.errors import BadRequest, NotFound, SettingsError
from chalicelib.core.money import format_amount, parse_amount
from chalicelib.core.settings import Settings

EXTERNAL = "external"
PAIR_NAME_RE = re.compile(r"^[A-Z0-9]{1,12}/[A-Z0-9]{1,12}$")
# Prices are stored zero-padded in index sort keys (best price first): 40 digits is far above
# any real price in base units and keeps the keys short.
MAX_PRICE = 10**40 - 1
DEFAULT_PAIRS = (
    '[{"pair": "SKT/ETH", "quote": "native", "tick": "0.000001", "min": "1", "max": "1000000"},'
    ' {"pair": "SKT/BTC", "quote": "external", "quote_decimals": 8, "tick": "0.00000001",'
    ' "min": "1", "max": "1000000"}]'
)


@dataclass(frozen=True)
class Pair:
    name: str
    base: str  # the token address
    base_decimals: int
    quote: str  # "native", a token address, or "external"
    quote_decimals: int
    tick: int  # price step, in quote base units per whole BASE
    min_amount: int  # BASE base units
    max_amount: int

    @property
    def on_chain(self) -> bool:
        return self.quote != EXTERNAL

    def public(self) -> dict[str, Any]:
        return {
            "pair": self.name,
            "base": self.base,
            "base_decimals": self.base_decimals,
            "quote": self.quote,
            "quote_decimals": self.quote_decimals,
            "settlement": "on_chain" if self.on_chain else "hash_lock",
            "sides": ["buy", "sell"] if self.on_chain else ["sell"],
            "tick": format_amount(self.tick, self.quote_decimals),
            "min_amount": format_amount(self.min_amount, self.base_decimals),
            "max_amount": format_amount(self.max_amount, self.base_decimals),
        }

    def price(self, value: Any) -> int:
        """A decimal price string -> quote base units per whole BASE, on the tick grid."""
        units = parse_amount(value, self.quote_decimals, field="price", maximum=MAX_PRICE)
        if units % self.tick:
            tick = format_amount(self.tick, self.quote_decimals)
            raise BadRequest(
                f"price must be a multiple of the tick {tick}",
                code="invalid_price",
                details={"field": "price", "tick": tick},
            )
        return units

    def amount(self, value: Any) -> int:
        units = parse_amount(value, self.base_decimals, field="amount")
        if not self.min_amount <= units <= self.max_amount:
            raise BadRequest(
                "amount must be between "
                f"{format_amount(self.min_amount, self.base_decimals)} and "
                f"{format_amount(self.max_amount, self.base_decimals)}",
                code="invalid_amount",
                details={"field": "amount"},
            )
        return units

    def quote_total(self, amount: int, price: int) -> int:
        """QUOTE base units for `amount` BASE units at `price`; refused unless exact."""
        total, rest = divmod(amount * price, 10**self.base_decimals)
        if rest or total <= 0:
            raise BadRequest(
                "amount x price is not a whole number of quote units; adjust either",
                code="inexact_total",
            )
        return total

    def show_base(self, units: int) -> str:
        return format_amount(units, self.base_decimals)

    def show_quote(self, units: int) -> str:
        return format_amount(units, self.quote_decimals)


def load_pairs(settings: Settings) -> dict[str, Pair]:
    """The configured pairs by name; none when no community token is configured."""
    if not settings.token_address:
        return {}
    try:
        raw = json.loads(settings.otc_pairs or DEFAULT_PAIRS)
    except ValueError:
        raise SettingsError("OTC_PAIRS must be a JSON list of pairs") from None
    if not isinstance(raw, list):
        raise SettingsError("OTC_PAIRS must be a JSON list of pairs")
    pairs: dict[str, Pair] = {}
    for entry in raw:
        pair = _pair(settings, entry)
        if pair.name in pairs:
            raise SettingsError(f"OTC_PAIRS lists {pair.name} twice")
        pairs[pair.name] = pair
    return pairs


def get_pair(settings: Settings, name: Any) -> Pair:
    """The pair named in a request; 400 `unknown_pair` (listing the known ones) otherwise."""
    pairs = load_pairs(settings)
    if not pairs:
        raise NotFound("OTC trading is not configured on this deployment", code="otc_disabled")
    pair = pairs.get(name) if isinstance(name, str) else None
    if pair is None:
        raise BadRequest(
            "pair must be one of the pairs listed in /v1/info",
            code="unknown_pair",
            details={"field": "pair", "pairs": sorted(pairs)},
        )
    return pair


def _pair(settings: Settings, entry: Any) -> Pair:
    if not isinstance(entry, dict) or not isinstance(entry.get("pair"), str):
        raise SettingsError('OTC_PAIRS entries need a "pair" name like SKT/ETH')
    name = entry["pair"]
    if not PAIR_NAME_RE.match(name):
        raise SettingsError(f"OTC_PAIRS {name!r}: a pair is named BASE/QUOTE in capitals")
    quote = str(entry.get("quote", NATIVE))
    try:
        if quote == NATIVE:
            quote_decimals = NATIVE_DECIMALS
        else:
            quote_decimals = int(entry.get("quote_decimals", 8 if quote == EXTERNAL else 18))
            if quote != EXTERNAL:
                quote = normalize_address(quote, field="quote")
        if not 0 <= quote_decimals <= 36:
            raise ValueError("quote_decimals")
        base_decimals = settings.token_decimals
        tick = parse_amount(str(entry.get("tick", "0.000001")), quote_decimals, field="tick")
        lo = parse_amount(str(entry.get("min", "1")), base_decimals, field="min")
        hi = parse_amount(str(entry.get("max", "1000000")), base_decimals, field="max")
    except (BadRequest, ValueError, TypeError):
        raise SettingsError(
            f"OTC_PAIRS {name}: quote must be native, external or a token address, with "
            "quote_decimals 0..36 and decimal tick, min and max within those decimals"
        ) from None
    if lo > hi:
        raise SettingsError(f"OTC_PAIRS {name}: min is above max")
    assert settings.token_address
    return Pair(name, settings.token_address, base_decimals, quote, quote_decimals, tick, lo, hi)
