"""Escrow deposits: what a party must send to the escrow wallet, and the proof that it did.

The seam between the OTC flow and the shared payment verifier (`chalicelib/core/payments.py`):
on chain, the deposit must have succeeded at depth, be sent by the party, pay the escrow address
(the escrow wallet, which pays nothing else) at least the required amount of the right asset,
and be recent. The global tx guard, written in the same transaction as the order change it
funds, makes one deposit fund one order side, ever.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core import payments
from chalicelib.core.assets import resolve_asset
from chalicelib.core.errors import BadRequest, NotFound, ServiceError
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Op, TransactionFailed
from chalicelib.core.wallets import ESCROW
from chalicelib.otc.model import BUY, SELL
from chalicelib.otc.pairs import Pair


@dataclass(frozen=True)
class Deposit:
    tx: str
    asset: str
    amount: int  # what reached escrow (at least what was required)
    sender: str

    def item(self) -> Item:
        return {"tx": self.tx, "asset": self.asset, "amount": str(self.amount), "from": self.sender}


def escrow_address(rt: Runtime) -> str:
    """The escrow wallet's address. Without an escrow wallet, OTC is off on this deployment."""
    escrow = rt.wallet(ESCROW)
    if escrow is None:
        raise NotFound("OTC trading is not configured on this deployment", code="otc_disabled")
    return escrow.address


def required(pair: Pair, gives: str, amount: int, quote_total: int) -> tuple[str, int]:
    """(asset, base units) the party on side `gives` must deposit: sellers BASE, buyers QUOTE."""
    if gives == SELL:
        return pair.base, amount
    assert gives == BUY and pair.on_chain
    return pair.quote, quote_total


def normalize_tx(value: object, field: str = "deposit_tx") -> str:
    return payments.normalize_tx_hash(value, field=field)


def verify(
    rt: Runtime, tx: str, sender: str, asset: str, minimum: int, now: int
) -> Deposit:
    """Prove the deposit on chain (4xx naming what is wrong; 503 when the chain is down)."""
    expected = payments.Expected(
        tx_hash=tx,
        sender=sender,
        recipient=escrow_address(rt),
        asset=asset,
        min_amount=minimum,
        not_before_ms=now - rt.settings.otc_deposit_max_age_seconds * 1000,
        decimals=_decimals(rt, asset),
    )
    try:
        paid = payments.verify_payment(rt.chain, expected, rt.settings.confirmations)
    except (payments.AmountTooLow, payments.TxTooOld, payments.WrongAsset) as exc:
        raise with_refund_hint(exc) from None  # it reached escrow and funds nothing
    return Deposit(paid.tx_hash, asset, paid.amount, sender)


# Where a refusal that leaves a deposit in escrow unused points its sender.
REFUND_HINT = (
    "if this transaction paid the escrow address, it funds nothing: its sender can have it "
    "refunded with a signed refund_deposit request (POST /v1/deposits/{deposit_tx}/refund)"
)


def with_refund_hint(exc: ServiceError) -> ServiceError:
    """Add the way back to a refusal that leaves a deposit unused."""
    exc.details = {**(exc.details or {}), "refund": REFUND_HINT}
    return exc


def _decimals(rt: Runtime, asset: str) -> int | None:
    """The asset's decimals when it is one the settings name (for messages only)."""
    try:
        return resolve_asset(rt.settings, asset)[1]
    except BadRequest:
        return None


def ensure_unused(rt: Runtime, tx: str) -> None:
    """409 `tx_already_used` early, before asking the chain (the guard stays authoritative)."""
    payments.ensure_tx_unused(rt.store, tx)


def used_for(rt: Runtime, tx: str) -> str | None:
    """What the deposit already funded (its tx guard's `used_for`), or None if unused."""
    guard = rt.store.get(**payments.tx_guard_key(tx))
    return None if guard is None else str(guard.get("used_for"))


def already_used(used_for: str) -> payments.TxAlreadyUsed:
    return payments.TxAlreadyUsed(
        "this transaction has already been recorded as a payment", details={"used_for": used_for}
    )


def guard_op(tx: str, used_for: str, now: int) -> Op:
    return payments.tx_guard_op(tx, used_for, now)


def raise_if_used(exc: TransactionFailed) -> None:
    """Translate a lost tx guard into 409 `tx_already_used` (naming what it funded)."""
    payments.raise_if_tx_used(exc)
