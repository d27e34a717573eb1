"""The payouts of an order ("legs"): who gets what out of which deposit, keyed by the order id.

Every leg is a payout intent of owner type `otc` whose idempotency key derives from the order id
and the leg's role (plus a retry suffix after an admin retry), so one business event can never
become two payouts. Each is requested in the same transaction as the order change it belongs to.
"""

from __future__ import annotations

from chalicelib.core.outbox.intents import Intent, make_intent
from chalicelib.core.store import Item
from chalicelib.core.wallets import ESCROW
from chalicelib.otc.model import (
    BASE_LEG,
    CHANGE_MAKER,
    CHANGE_TAKER,
    OWNER_TYPE,
    QUOTE_LEG,
    REFUND_MAKER,
    REFUND_TAKER,
    SELL,
    payout_key_for,
)
from chalicelib.otc.pairs import Pair

MAKER = "maker"
TAKER = "taker"
# Which deposit pays each leg (a refund or change returns to whoever paid that deposit).
CHANGE_OF = {MAKER: CHANGE_MAKER, TAKER: CHANGE_TAKER}
REFUND_OF = {MAKER: REFUND_MAKER, TAKER: REFUND_TAKER}


def intent(order: Item, role: str, asset: str, to: str, amount: int, retry: int = 0) -> Intent:
    key = payout_key_for(order["id"], role, retry)
    return make_intent(key, asset, to, amount, OWNER_TYPE, order["id"], purpose=ESCROW)


def source(order: Item, role: str) -> str:
    """Whose deposit funds a leg: BASE comes from the seller's, QUOTE from the buyer's."""
    maker_sells = order["side"] == SELL
    if role == BASE_LEG:
        return MAKER if maker_sells else TAKER
    if role == QUOTE_LEG:
        return TAKER if maker_sells else MAKER
    return MAKER if role in (CHANGE_MAKER, REFUND_MAKER) else TAKER


def deposit(order: Item, party: str) -> Item | None:
    return order.get(f"{party}_deposit")


def settlement(order: Item, pair: Pair) -> dict[str, Intent]:
    """The legs that settle a matched trade (both deposits exist on on-chain pairs).

    BASE to the buyer and, on on-chain pairs, QUOTE to the seller; whatever a deposit held
    beyond what the trade needs goes back to its payer.
    """
    amount, total = int(order["amount"]), int(order["quote_total"])
    legs = {BASE_LEG: intent(order, BASE_LEG, pair.base, order["buyer"], amount)}
    if pair.on_chain:
        legs[QUOTE_LEG] = intent(order, QUOTE_LEG, pair.quote, order["seller"], total)
    needs = {source(order, BASE_LEG): amount}
    if pair.on_chain:
        needs[source(order, QUOTE_LEG)] = total
    for party, need in needs.items():
        dep = deposit(order, party)
        assert dep is not None
        extra = int(dep["amount"]) - need
        if extra > 0:
            role = CHANGE_OF[party]
            legs[role] = intent(order, role, dep["asset"], dep["from"], extra)
    return legs


def refunds(
    order: Item, already_paid: dict[str, int] | None = None, retry: int = 0
) -> dict[str, Intent]:
    """Every deposit back to its payer, less what legs of it already paid (confirmed change)."""
    legs = {}
    for party in (MAKER, TAKER):
        dep = deposit(order, party)
        if not dep:
            continue
        left = int(dep["amount"]) - (already_paid or {}).get(party, 0)
        if left > 0:
            role = REFUND_OF[party]
            legs[role] = intent(order, role, dep["asset"], dep["from"], left, retry)
    return legs
