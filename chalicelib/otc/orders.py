"""Opening an order (create), reading one, and listing them (without Scan).

create: signed by the maker, funded by a deposit the maker already sent to the escrow address.
The order, its listing entry, the deposit's global tx guard and the signature's replay guard
are one transaction: a deposit funds one order, ever, and a refused request changes nothing.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import failpoints
from chalicelib.core.errors import BadRequest, NotFound
from chalicelib.core.log import log
from chalicelib.core.parse import is_ascii_digits, parse_count
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, TransactionFailed, decode_cursor, encode_cursor, put_op
from chalicelib.otc import counters, deposits, ledger, limits, signatures
from chalicelib.otc.model import (
    BUY,
    OPEN,
    SELL,
    SIDES,
    STATUSES,
    list_item,
    list_pk,
    order_id_for,
    order_key,
    public_view,
    summary_view,
    work_fields,
)
from chalicelib.otc.pairs import Pair, get_pair, load_pairs

MIN_TTL_S = 3600
MAX_TTL_S = 30 * 86_400
PAGE_DEFAULT = 50
PAGE_MAX = 100


def create_order(rt: Runtime, body: dict[str, Any], ip: str) -> dict[str, Any]:
    now = rt.clock.now_ms()
    signed = signatures.verify(rt, signatures.CREATE_ORDER, body)
    msg = signed.message
    pair = get_pair(rt.settings, msg["pair"])
    side = msg["side"]
    if side not in SIDES:
        raise BadRequest("side must be buy or sell", code="invalid_side", details={"field": "side"})
    if side == BUY and not pair.on_chain:
        raise BadRequest(
            f"{pair.name} settles off chain: only sell orders exist",
            code="sell_only_pair",
            details={"field": "side"},
        )
    amount = pair.amount(msg["amount"])
    price = pair.price(msg["price"])
    total = pair.quote_total(amount, price)
    ttl = msg["ttl_seconds"]
    if not MIN_TTL_S <= ttl <= MAX_TTL_S:
        raise BadRequest(
            f"ttl_seconds must be between {MIN_TTL_S} and {MAX_TTL_S}",
            code="invalid_ttl",
            details={"field": "ttl_seconds"},
        )
    tx = deposits.normalize_tx(msg["deposit_tx"])
    maker = signed.signer

    limits.take(rt, "create", maker, ip)
    deposits.ensure_unused(rt, tx)
    asset, need = deposits.required(pair, side, amount, total)
    deposit = deposits.verify(rt, tx, maker, asset, need, now)

    oid = order_id_for(rt.settings.chain_id, tx)
    order: Item = {
        **order_key(oid),
        "id": oid,
        "pair": pair.name,
        "side": side,
        "maker": maker,
        "amount": str(amount),
        "price": str(price),
        "quote_total": str(total),
        "status": OPEN,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "status_since": now,
        "expires_at": now + ttl * 1000,
        "ttl_seconds": ttl,
        "maker_deposit": deposit.item(),
        "payouts": {},
        "retries": 0,
    }
    order.update(work_fields(order))
    ops = [
        put_op(order, if_absent=True, name="order"),
        put_op(list_item(order), name="list_new"),
        deposits.guard_op(tx, f"otc:{oid}:maker", now),
        signatures.guard_op(signed, now, oid),
        counters.count_op(pair.name, oid, "created"),
        *ledger.credit_ops(oid, deposit.asset, deposit.amount),  # escrow now owes it back
    ]
    try:
        rt.store.transact(ops)
    except TransactionFailed as exc:
        signatures.raise_if_replayed(exc)
        deposits.raise_if_used(exc)
        raise
    failpoints.hit("otc.after_create_commit")
    log("otc_order_created", order_id=oid, pair=pair.name, side=side, maker=maker)
    return public_view(order, pair, now)


def load(rt: Runtime, order_id: str) -> Item:
    """The order (consistent read); 404 for an unknown or malformed id."""
    if not isinstance(order_id, str) or not order_id.startswith("ord_") or len(order_id) > 40:
        raise NotFound("no order with this id", code="order_not_found")
    order = rt.store.get(**order_key(order_id))
    if order is None:
        raise NotFound("no order with this id", code="order_not_found")
    return order


def pair_of(rt: Runtime, order: Item) -> Pair:
    pairs = load_pairs(rt.settings)
    pair = pairs.get(order["pair"])
    if pair is None:
        # The pair was removed from the settings while orders of it live on: still show them.
        raise NotFound("this order's pair is no longer configured", code="pair_not_configured")
    return pair


def get_order(rt: Runtime, order_id: str) -> dict[str, Any]:
    order = load(rt, order_id)
    return public_view(order, pair_of(rt, order), rt.clock.now_ms())


# -- listing -----------------------------------------------------------------------------------


def list_orders(rt: Runtime, params: dict[str, str]) -> dict[str, Any]:
    """Orders by pair, side and status (open by default), newest first or best price first.

    Each (pair, side) has its own partition of the listing index; without a pair or side the
    partitions are read one after the other, and the cursor says which one and where in it.
    An open order whose time ran out is never listed as open, even before the expiry job ran.
    """
    pairs = load_pairs(rt.settings)
    status = params.get("status", OPEN)
    if status not in STATUSES:
        raise BadRequest(
            f"status must be one of {', '.join(STATUSES)}",
            code="invalid_status",
            details={"field": "status"},
        )
    names = [get_pair(rt.settings, params["pair"]).name] if "pair" in params else sorted(pairs)
    side = params.get("side")
    if side is not None and side not in SIDES:
        raise BadRequest("side must be buy or sell", code="invalid_side", details={"field": "side"})
    sides = [side] if side else [SELL, BUY]
    partitions = [(p, s) for p in names for s in sides]
    limit = _limit(params.get("limit"))
    part, inner = _cursor(params.get("next"), [list_pk(p, s, status) for p, s in partitions])
    now = rt.clock.now_ms()
    out: list[dict[str, Any]] = []
    while part < len(partitions) and len(out) < limit:
        name, s = partitions[part]
        # Open orders: asks cheapest first, bids dearest first; others: newest first.
        forward = status == OPEN and s == SELL
        items, inner = rt.store.query(
            list_pk(name, s, status), limit=limit - len(out), cursor=inner, forward=forward
        )
        for entry in items:
            if status == OPEN and now >= int(entry["expires_at"]):
                continue
            out.append(summary_view(entry, pairs[name], now))
        if inner is None:
            part += 1
    nxt = None
    if part < len(partitions):
        nxt = encode_cursor({"part": str(part), "inner": inner or ""})
    return {"orders": out, "next": nxt}


def _limit(raw: str | None) -> int:
    return parse_count(raw, "limit", default=PAGE_DEFAULT, maximum=PAGE_MAX)


def _cursor(raw: str | None, partitions: list[str]) -> tuple[int, str | None]:
    """(partition index, the store's cursor inside it); 400 for a cursor of another query."""
    value = decode_cursor(raw, {"part", "inner"})
    if value is None:
        return 0, None
    part = value.get("part", "")
    if not is_ascii_digits(part, 3) or int(part) >= len(partitions):
        raise BadRequest("the pagination cursor is not valid", code="invalid_cursor")
    inner = value.get("inner") or None
    start = decode_cursor(inner, {"pk", "sk"})
    if start is not None and start.get("pk") != partitions[int(part)]:
        raise BadRequest("the pagination cursor is not valid", code="invalid_cursor")
    return int(part), inner
