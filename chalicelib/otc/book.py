"""Market data without Scan: the order book, the trade tape, and 24-hour statistics.

- The book reads each side's open partition of the listing index in price order (asks
  cheapest first, bids dearest first) and aggregates levels; an order whose ttl passed is left
  out even before the expiry job has moved it.
- Trades live under `otc#trades#<pair>` sorted by execution time; the tape is read newest first.
- Statistics read the trades of the last 24 hours only (a descending query that stops at the
  cutoff), the live book, and the per-pair totals the writes maintain (counters.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib.core.clock import iso
from chalicelib.core.errors import BadRequest
from chalicelib.core.parse import parse_count
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import DynamoStore, Item, decode_cursor
from chalicelib.otc import counters
from chalicelib.otc.model import BUY, OPEN, SELL, list_pk
from chalicelib.otc.pairs import Pair, get_pair, load_pairs

DEPTH_DEFAULT = 50
DEPTH_MAX = 200
TRADES_DEFAULT = 50
TRADES_MAX = 100
WINDOW_MS = 24 * 3600 * 1000
PAGE = 100


def trades_pk(pair: str) -> str:
    return f"otc#trades#{pair}"


def _pages(store: DynamoStore, pk: str, forward: bool) -> Iterator[Item]:
    cursor = None
    while True:
        items, cursor = store.query(pk, limit=PAGE, cursor=cursor, forward=forward)
        yield from items
        if cursor is None:
            return


def live_orders(store: DynamoStore, pair: Pair, side: str, now: int) -> Iterator[Item]:
    """Open orders of one side, best price first, without any whose ttl has passed."""
    for entry in _pages(store, list_pk(pair.name, side, OPEN), forward=side == SELL):
        if now < int(entry["expires_at"]):
            yield entry


def _levels(entries: Iterator[Item], depth: int) -> list[dict[str, int]]:
    """Orders (best first) aggregated into at most `depth` price levels."""
    levels: list[dict[str, int]] = []
    for entry in entries:
        price = int(entry["price"])
        if levels and levels[-1]["_price"] == price:
            levels[-1]["_amount"] += int(entry["amount"])
            levels[-1]["orders"] += 1
            continue
        if len(levels) == depth:
            break
        levels.append({"_price": price, "_amount": int(entry["amount"]), "orders": 1})
    return levels


def _show_levels(levels: list[dict[str, int]], pair: Pair) -> list[dict[str, Any]]:
    return [
        {"price": pair.show_quote(lv["_price"]), "amount": pair.show_base(lv["_amount"]),
         "orders": lv["orders"]}
        for lv in levels
    ]


def orderbook(rt: Runtime, params: dict[str, str]) -> dict[str, Any]:
    pair = _pair_param(rt, params)
    depth = _int_param(params, "depth", DEPTH_DEFAULT, DEPTH_MAX)
    now = rt.clock.now_ms()
    asks = _levels(live_orders(rt.store, pair, SELL, now), depth)
    bids = _levels(live_orders(rt.store, pair, BUY, now), depth) if pair.on_chain else []
    best_ask = asks[0]["_price"] if asks else None
    best_bid = bids[0]["_price"] if bids else None
    spread = best_ask - best_bid if best_ask is not None and best_bid is not None else None
    return {
        "pair": pair.name,
        "bids": _show_levels(bids, pair),
        "asks": _show_levels(asks, pair),
        "best_bid": pair.show_quote(best_bid) if best_bid is not None else None,
        "best_ask": pair.show_quote(best_ask) if best_ask is not None else None,
        "spread": pair.show_quote(spread) if spread is not None else None,
        "as_of": iso(now),
    }


def trades(rt: Runtime, params: dict[str, str]) -> dict[str, Any]:
    pair = _pair_param(rt, params)
    limit = _int_param(params, "limit", TRADES_DEFAULT, TRADES_MAX)
    cursor = params.get("next")
    start = decode_cursor(cursor, {"pk", "sk"})
    if start is not None and start.get("pk") != trades_pk(pair.name):
        raise BadRequest("the pagination cursor is not valid", code="invalid_cursor")
    items, nxt = rt.store.query(trades_pk(pair.name), limit=limit, cursor=cursor, forward=False)
    return {"trades": [trade_view(t, pair) for t in items], "next": nxt}


def trade_view(trade: Item, pair: Pair) -> dict[str, Any]:
    return {
        "id": trade["id"],
        "order_id": trade["order_id"],
        "pair": trade["pair"],
        "side": trade["side"],
        "price": pair.show_quote(int(trade["price"])),
        "amount": pair.show_base(int(trade["amount"])),
        "quote_total": pair.show_quote(int(trade["quote_total"])),
        "executed_at": iso(int(trade["executed_at"])),
    }


def stats(rt: Runtime, params: dict[str, str]) -> dict[str, Any]:
    now = rt.clock.now_ms()
    if "pair" in params:
        pairs = [_pair_param(rt, params)]
    else:
        pairs = list(load_pairs(rt.settings).values())
    return {
        "window_hours": WINDOW_MS // 3_600_000,
        "as_of": iso(now),
        "pairs": [pair_stats(rt, pair, now) for pair in pairs],
    }


def pair_stats(rt: Runtime, pair: Pair, now: int) -> dict[str, Any]:
    cutoff = now - WINDOW_MS
    volume = quote_volume = count = 0
    high = low = last = None
    for trade in _pages(rt.store, trades_pk(pair.name), forward=False):
        price = int(trade["price"])
        if last is None:
            last = price  # the latest trade, however old
        if int(trade["executed_at"]) <= cutoff:
            break  # sorted by execution time: everything further is older still
        count += 1
        volume += int(trade["amount"])
        quote_volume += int(trade["quote_total"])
        high = price if high is None else max(high, price)
        low = price if low is None else min(low, price)
    open_asks = list(live_orders(rt.store, pair, SELL, now))
    open_bids = list(live_orders(rt.store, pair, BUY, now)) if pair.on_chain else []

    def show(units: int | None) -> str | None:
        return pair.show_quote(units) if units is not None else None

    return {
        "pair": pair.name,
        "trades_24h": count,
        "volume_24h": pair.show_base(volume),
        "quote_volume_24h": pair.show_quote(quote_volume),
        "high_24h": show(high),
        "low_24h": show(low),
        "last_price": show(last),
        "open_orders": {"buy": len(open_bids), "sell": len(open_asks)},
        "best_bid": show(int(open_bids[0]["price"])) if open_bids else None,
        "best_ask": show(int(open_asks[0]["price"])) if open_asks else None,
        "totals": counters.totals(rt.store, pair.name),
    }


def _pair_param(rt: Runtime, params: dict[str, str]) -> Pair:
    if not params.get("pair"):
        raise BadRequest(
            "pair is required (e.g. ?pair=SKT/ETH)", code="pair_required", details={"field": "pair"}
        )
    return get_pair(rt.settings, params["pair"])


def _int_param(params: dict[str, str], name: str, default: int, maximum: int) -> int:
    raw = params.get(name)
    return parse_count(raw, name, default=default, maximum=maximum)
