"""The OTC order record: states, keys, index placement, and the public view.

An order is one item (`order#<id>` / `order`). Its hash-lock secret, on external pairs, is a
separate item (`order#<id>` / `secret`) that no view ever reads, so no response built from an
order can carry it by mistake.

States (each change is one compare-and-set on status + version, see `move`):

    open -> settling (on-chain match: both payouts requested) -> completed
    open -> matched (external match) -> settling (seller's confirm) -> completed
    open -> refund_pending (cancel, or ttl passed) -> cancelled | expired
    matched -> refund_pending (settlement window passed) -> expired
    settling | refund_pending -> settlement_recovery (a payout failed: an admin retries/refunds)

Where an order is found without Scan:
- the listing index: one small item per order under `otc#orders#<pair>#<side>#<status>`, moved
  in the same transaction as every status change. Open orders sort by price, best first for
  the book; the other statuses by the time they entered it.
- the work index (sparse GSI), while a job has something to do: open orders and matched
  external ones under `otc#expiry` sorted by the time they run out; settling, refund_pending
  and (while payouts still move) settlement_recovery under `otc#reconcile`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from chalicelib.core.clock import iso
from chalicelib.core.outbox.purposes import register_owner
from chalicelib.core.store import Item, Key, Op, delete_op, key, put_op, update_op
from chalicelib.core.wallets import ESCROW
from chalicelib.otc.pairs import Pair
from chalicelib.otc.webhook_events import order_event_op

OPEN = "open"
MATCHED = "matched"
SETTLING = "settling"
REFUND_PENDING = "refund_pending"
SETTLEMENT_RECOVERY = "settlement_recovery"
COMPLETED = "completed"
CANCELLED = "cancelled"
EXPIRED = "expired"
STATUSES = (
    OPEN, MATCHED, SETTLING, REFUND_PENDING, SETTLEMENT_RECOVERY, COMPLETED, CANCELLED, EXPIRED
)
TERMINAL = (COMPLETED, CANCELLED, EXPIRED)

BUY = "buy"
SELL = "sell"
SIDES = (BUY, SELL)

# Payout roles of an order (its `payouts` map: role -> payout id).
BASE_LEG = "base"  # BASE to the buyer, out of the seller's deposit
QUOTE_LEG = "quote"  # QUOTE to the seller, out of the buyer's deposit (on-chain pairs)
TRADE_LEGS = (BASE_LEG, QUOTE_LEG)
CHANGE_MAKER = "change_maker"  # what a deposit held beyond the order's needs, back to its payer
CHANGE_TAKER = "change_taker"
REFUND_MAKER = "refund_maker"
REFUND_TAKER = "refund_taker"

# Why an order went to refund_pending, and where that ends.
REFUND_CANCEL = "cancel"
REFUND_EXPIRY = "expiry"
REFUND_WINDOW = "settlement_window"
REFUND_ADMIN = "admin"
REFUND_END = {
    REFUND_CANCEL: CANCELLED,
    REFUND_ADMIN: CANCELLED,
    REFUND_EXPIRY: EXPIRED,
    REFUND_WINDOW: EXPIRED,
}

OWNER_TYPE = "otc"
# Every OTC payout (settlement legs, change, refunds) comes out of the escrow wallet only.
register_owner(OWNER_TYPE, ESCROW)
EXPIRY_QUEUE = "otc#expiry"
RECONCILE_QUEUE = "otc#reconcile"


def order_id_for(chain_id: int, deposit_tx: str) -> str:
    """An order's id follows from the deposit that funds it: one deposit, one order, ever."""
    digest = hashlib.sha256(f"otc:{chain_id}:{deposit_tx.lower()}".encode()).hexdigest()
    return "ord_" + digest[:24]


def trade_id_for(order_id: str) -> str:
    return "trd_" + hashlib.sha256(f"trade:{order_id}".encode()).hexdigest()[:24]


def order_key(order_id: str) -> Key:
    return key(f"order#{order_id}", "order")


def secret_key(order_id: str) -> Key:
    return key(f"order#{order_id}", "secret")


def payout_key_for(order_id: str, role: str, retry: int = 0) -> str:
    """The idempotency key of one payout of an order; a retry gets a new suffix."""
    base = f"otc:{order_id}:{role}"
    return base if retry == 0 else f"{base}:retry{retry}"


# -- listing index -----------------------------------------------------------------------------


def list_pk(pair: str, side: str, status: str) -> str:
    return f"otc#orders#{pair}#{side}#{status}"


def list_sk(order: Item) -> str:
    if order["status"] == OPEN:
        price = int(order["price"])
        # Best first when read in the book's direction: asks ascending, bids descending.
        return f"{price:040d}#{int(order['created_at']):013d}#{order['id']}"
    return f"{int(order['status_since']):013d}#{order['id']}"


def list_key(order: Item) -> Key:
    return key(list_pk(order["pair"], order["side"], order["status"]), list_sk(order))


LISTED_FIELDS = ("id", "pair", "side", "maker", "taker", "status", "amount", "price",
                 "quote_total", "created_at", "expires_at", "status_since")


def list_item(order: Item) -> Item:
    """The index entry: a few public fields, enough for listings and the book."""
    return {**list_key(order), **{f: order.get(f) for f in LISTED_FIELDS}}


# -- work index --------------------------------------------------------------------------------


def work_fields(order: Item) -> dict[str, str | None]:
    """Where a job finds the order in its (new) state; None removes it from the index."""
    status = order["status"]
    if status == OPEN:
        due = int(order["expires_at"])
        return {"wpk": EXPIRY_QUEUE, "wsk": f"{due:013d}#{order['id']}"}
    if status == MATCHED and order.get("settle_by") is not None:
        due = int(order["settle_by"])
        return {"wpk": EXPIRY_QUEUE, "wsk": f"{due:013d}#{order['id']}"}
    if status in (SETTLING, REFUND_PENDING) or (
        status == SETTLEMENT_RECOVERY and order.get("awaiting") == "payouts"
    ):
        return {"wpk": RECONCILE_QUEUE, "wsk": f"{int(order['status_since']):013d}#{order['id']}"}
    return {"wpk": None, "wsk": None}


# -- the one way an order changes --------------------------------------------------------------


def move(
    order: Item,
    status: str,
    now: int,
    *,
    condition: ConditionBase | None = None,
    **changes: Any,
) -> tuple[Item, list[Op]]:
    """Compare-and-set `order` (as read) into `status`, with its index entries moved.

    Returns the order as it will be and the transaction items: the order's update (conditioned
    on the status and version that were read, plus `condition`), and the listing entry moved.
    """
    new = {**order, **changes, "status": status, "version": int(order["version"]) + 1}
    if status != order["status"]:
        new["status_since"] = now
    new["updated_at"] = now
    new.update(work_fields(new))
    sets = {k: new.get(k) for k in (*changes, "status", "status_since", "updated_at", "wpk", "wsk")}
    cond = Attr("status").eq(order["status"]) & Attr("version").eq(int(order["version"]))
    if condition is not None:
        cond = cond & condition
    ops = [update_op(order_key(order["id"]), set=sets, add={"version": 1}, condition=cond,
                     name="order")]
    if list_key(new) != list_key(order):
        ops.append(delete_op(list_key(order), name="list_old"))
        ops.append(put_op(list_item(new), name="list_new"))
    event = order_event_op(order["status"], new, now)  # rule 15: in the same transaction
    if event is not None:
        ops.append(event)
    return new, ops


# -- views -------------------------------------------------------------------------------------


def shown_status(order: Item, now: int) -> str:
    """The status a client sees: an order whose time ran out is never shown as open.

    The expiry job moves it to refund_pending soon; until it has, the view says so already
    (the next state it will reach), so the shown status never goes backwards.
    """
    status = order["status"]
    if status == OPEN and now >= int(order["expires_at"]):
        return REFUND_PENDING
    if status == MATCHED and order.get("settle_by") is not None and now >= int(order["settle_by"]):
        return REFUND_PENDING
    return str(status)


def refund_reason(order: Item, now: int) -> str | None:
    if order.get("refund_reason"):
        return str(order["refund_reason"])
    if order["status"] == OPEN and now >= int(order["expires_at"]):
        return REFUND_EXPIRY
    if order["status"] == MATCHED and order.get("settle_by") is not None and now >= int(
        order["settle_by"]
    ):
        return REFUND_WINDOW
    return None


def _ms(value: Any) -> str | None:
    return iso(int(value)) if value is not None else None


def _deposit_view(deposit: Item | None, asset_decimals: int) -> dict[str, Any] | None:
    if not deposit:
        return None
    from chalicelib.core.money import format_amount

    return {
        "tx_hash": deposit["tx"],
        "asset": deposit["asset"],
        "amount": format_amount(int(deposit["amount"]), asset_decimals),
    }


def deposit_decimals(pair: Pair, order: Item, party: str) -> int:
    """Decimals of what `party` (maker/taker) deposited: the seller gives BASE, the buyer QUOTE."""
    maker_sells = order["side"] == SELL
    gives_base = maker_sells if party == "maker" else not maker_sells
    return pair.base_decimals if gives_base else pair.quote_decimals


def public_view(order: Item, pair: Pair, now: int) -> dict[str, Any]:
    """What `GET /v1/orders/{id}` shows. Built from the order item only: never the secret."""
    return {
        "id": order["id"],
        "pair": order["pair"],
        "side": order["side"],
        "settlement": "on_chain" if pair.on_chain else "hash_lock",
        "status": shown_status(order, now),
        "maker": order["maker"],
        "taker": order.get("taker"),
        "seller": order.get("seller"),
        "buyer": order.get("buyer"),
        "amount": pair.show_base(int(order["amount"])),
        "price": pair.show_quote(int(order["price"])),
        "quote_total": pair.show_quote(int(order["quote_total"])),
        "created_at": _ms(order["created_at"]),
        "expires_at": _ms(order["expires_at"]),
        "matched_at": _ms(order.get("matched_at")),
        "settle_by": _ms(order.get("settle_by")),
        "completed_at": _ms(order.get("completed_at")),
        "updated_at": _ms(order.get("updated_at")),
        "secret_hash": order.get("secret_hash"),
        "quote_reference": order.get("quote_reference"),
        "refund_reason": refund_reason(order, now),
        "deposits": {
            party: _deposit_view(
                order.get(f"{party}_deposit"), deposit_decimals(pair, order, party)
            )
            for party in ("maker", "taker")
        },
        "payouts": dict(order.get("payouts") or {}),
        "trade_id": order.get("trade_id"),
        "recovery": _recovery_view(order),
    }


def _recovery_view(order: Item) -> dict[str, Any] | None:
    if order["status"] != SETTLEMENT_RECOVERY:
        return None
    return {
        "from": order.get("recovery_from"),
        "failed": list(order.get("failed_roles") or []),
        "awaiting": order.get("awaiting"),
    }


def summary_view(entry: Item, pair: Pair, now: int) -> dict[str, Any]:
    """One listing entry (from the listing index; the order item is not read)."""
    view = {
        "id": entry["id"],
        "pair": entry["pair"],
        "side": entry["side"],
        "status": shown_status(entry, now),
        "maker": entry["maker"],
        "taker": entry.get("taker"),
        "amount": pair.show_base(int(entry["amount"])),
        "price": pair.show_quote(int(entry["price"])),
        "quote_total": pair.show_quote(int(entry["quote_total"])),
        "created_at": _ms(entry["created_at"]),
        "expires_at": _ms(entry["expires_at"]),
    }
    return view
