"""Verify a payment a user made on chain, and make sure one transaction pays one thing, ever.

Shared by every flow that waits for users to pay (bounty winners, OTC deposits):

    paid = verify_payment(rt.chain, Expected(tx_hash, sender=poster, recipient=winner,
                                             asset=asset, min_amount=per_winner,
                                             not_before_ms=accepted_at - 60_000),
                          confirmations=rt.settings.confirmations)
    rt.store.transact([...own state change..., tx_guard_op(paid.tx_hash, "bounty:b1:s1", now)])
    # on TransactionFailed: raise_if_tx_used(exc) -> 409 tx_already_used

What counts as paid:
- native: the transaction itself sends at least `min_amount` wei to `recipient` (its `value`);
  value moved by a contract's internal call is not seen, so pay with a plain transfer.
- token: the SUM of the token contract's `Transfer(from=sender, to=recipient)` logs in the
  transaction is at least `min_amount` (a batch sender emitting several logs counts in full;
  since the transaction can pay only one thing, summing cannot double count).
- the transaction succeeded (status 1), has `confirmations` confirmations (its own block counts
  as 1, as in wallets and the payout engine), was sent by `sender` (`from`), and its block's
  timestamp is no earlier than `not_before_ms`.

Every refusal is a 4xx with its own code and changes nothing; the chain being unreachable is 503
(`ChainUnavailable`), never a 4xx. This module imports web3 only through `rt.chain` (rule 12).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.addresses import normalize_address
from chalicelib.core.assets import NATIVE, NATIVE_DECIMALS
from chalicelib.core.clock import iso
from chalicelib.core.confirmations import count as confirmations_at
from chalicelib.core.errors import BadRequest, Conflict, Unprocessable
from chalicelib.core.money import format_amount
from chalicelib.core.store import DynamoStore, Item, Op, TransactionFailed, key, put_op

if TYPE_CHECKING:
    from chalicelib.core.chain import Web3Chain

TX_HASH_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")
TX_GUARD_OP = "tx_guard"
# keccak("Transfer(address,address,uint256)"), the ERC-20 event topic (also in core.chain, which
# imports web3; repeated here so verifying a payment's shape needs no web3 import).
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


class PaymentRefused(Unprocessable):
    """The transaction does not prove the expected payment (422); subclasses say why."""

    code = "payment_refused"


class TxNotFound(PaymentRefused):
    """The chain knows no transaction with this hash."""

    code = "tx_not_found"


class TxNotConfirmed(PaymentRefused):
    """The transaction is pending, or has fewer than CONFIRMATIONS blocks on top of it."""

    code = "tx_not_confirmed"


class TxFailed(PaymentRefused):
    """The transaction was mined but reverted (status 0): nothing moved."""

    code = "tx_failed"


class WrongSender(PaymentRefused):
    """The transaction (or its token transfer) is not from the expected payer."""

    code = "wrong_sender"


class WrongRecipient(PaymentRefused):
    """The transaction pays someone else (or no one) in the expected asset."""

    code = "wrong_recipient"


class WrongAsset(PaymentRefused):
    """The transaction pays the recipient, but in another asset."""

    code = "wrong_asset"


class AmountTooLow(PaymentRefused):
    """The transaction pays the recipient less than required."""

    code = "amount_too_low"


class TxTooOld(PaymentRefused):
    """The transaction was mined before the earliest time it may have been made for this."""

    code = "tx_too_old"


class TxAlreadyUsed(Conflict):
    """This transaction already paid something else (409)."""

    code = "tx_already_used"


@dataclass(frozen=True)
class Expected:
    """The payment a flow waits for. `asset` is NATIVE or a token contract address."""

    tx_hash: str
    sender: str
    recipient: str
    asset: str
    min_amount: int
    not_before_ms: int | None = None
    # The asset's decimals, so a refusal states amounts as decimal strings (and base units).
    decimals: int | None = None


@dataclass(frozen=True)
class Payment:
    """What the chain proved: the amount that reached the recipient, and where and when."""

    tx_hash: str
    amount: int
    block_number: int
    block_hash: str
    mined_at_ms: int
    confirmations: int


def normalize_tx_hash(value: Any, *, field: str = "tx_hash") -> str:
    """0x + 64 hex digits, lower-cased (the form the guard is keyed by); 400 otherwise."""
    if not isinstance(value, str) or not TX_HASH_RE.match(value.strip()):
        raise BadRequest(
            f"{field} must be 0x followed by 64 hex digits",
            code="invalid_tx_hash",
            details={"field": field},
        )
    return value.strip().lower()


def verify_payment(chain: Web3Chain | None, expected: Expected, confirmations: int) -> Payment:
    """Prove `expected` on chain, or raise the PaymentRefused subclass that says why."""
    from chalicelib.core.chain import ChainUnavailable

    if chain is None:
        raise ChainUnavailable("no chain is configured to verify payments")
    tx_hash = normalize_tx_hash(expected.tx_hash)
    sender = normalize_address(expected.sender, field="sender").lower()
    recipient = normalize_address(expected.recipient, field="recipient").lower()
    asset = expected.asset if expected.asset == NATIVE else expected.asset.lower()
    details = {"tx_hash": tx_hash}

    receipt = chain.receipt(tx_hash)
    if receipt is None:
        if chain.transaction(tx_hash) is None:
            raise TxNotFound("the chain knows no transaction with this hash", details=details)
        raise TxNotConfirmed(
            "the transaction is not mined yet",
            details={**details, "confirmations": 0, "required": confirmations},
        )
    if receipt.status != 1:
        raise TxFailed("the transaction reverted: nothing was paid", details=details)
    depth = confirmations_at(chain.block_number(), receipt.block_number)
    if depth < confirmations:
        raise TxNotConfirmed(
            f"the transaction needs {confirmations} confirmations, it has {depth}",
            details={**details, "confirmations": depth, "required": confirmations},
        )
    tx = chain.transaction(tx_hash)
    if tx is None:  # re-orged away between the two reads
        raise TxNotConfirmed(
            "the transaction is not mined yet",
            details={**details, "confirmations": 0, "required": confirmations},
        )
    if _addr(tx.get("from")) != sender:
        raise WrongSender(
            "the transaction was not sent by the expected payer",
            details={**details, "expected": expected.sender, "actual": _show(tx.get("from"))},
        )
    transfers = _transfers(receipt.logs)
    native_to_recipient = int(tx.get("value") or 0) if _addr(tx.get("to")) == recipient else 0
    if asset == NATIVE:
        amount = _native_amount(tx, recipient, transfers, native_to_recipient, details)
    else:
        amount = _token_amount(asset, sender, recipient, transfers, native_to_recipient, details)
    if amount < expected.min_amount:
        raise AmountTooLow(
            "the transaction pays less than required",
            details={**details, **_amounts(amount, expected)},
        )
    mined_at_ms = _block_time_ms(chain, receipt.block_hash)
    if expected.not_before_ms is not None and mined_at_ms < expected.not_before_ms:
        raise TxTooOld(
            "the transaction was mined before this payment was due",
            details={
                **details,
                "mined_at": iso(mined_at_ms),
                "not_before": iso(expected.not_before_ms),
            },
        )
    return Payment(tx_hash, amount, receipt.block_number, receipt.block_hash, mined_at_ms, depth)


@dataclass(frozen=True)
class _Transfer:
    token: str
    sender: str
    recipient: str
    amount: int


def _native_amount(
    tx: dict[str, Any],
    recipient: str,
    transfers: list[_Transfer],
    native_to_recipient: int,
    details: dict[str, Any],
) -> int:
    if _addr(tx.get("to")) == recipient:
        return native_to_recipient
    if any(t.recipient == recipient for t in transfers):
        raise WrongAsset(
            "the transaction pays the recipient in a token, not the native coin", details=details
        )
    raise WrongRecipient("the transaction does not pay the expected recipient", details=details)


def _token_amount(
    token: str,
    sender: str,
    recipient: str,
    transfers: list[_Transfer],
    native_to_recipient: int,
    details: dict[str, Any],
) -> int:
    ours = [t for t in transfers if t.token == token]
    paying = [t for t in ours if t.sender == sender and t.recipient == recipient]
    if paying:
        return sum(t.amount for t in paying)
    if any(t.recipient == recipient for t in ours):
        raise WrongSender(
            "the token transfer to the recipient is not from the payer", details=details
        )
    if native_to_recipient > 0 or any(t.recipient == recipient for t in transfers):
        raise WrongAsset("the transaction pays the recipient in another asset", details=details)
    raise WrongRecipient(
        "the transaction has no transfer of this token to the expected recipient", details=details
    )


def _transfers(logs: list[dict[str, Any]]) -> list[_Transfer]:
    """ERC-20 Transfer events (3 topics: signature, from, to; the amount in data)."""
    found = []
    for log in logs:
        if log.get("removed"):
            continue
        topics = [_hex(t) for t in log.get("topics") or []]
        if len(topics) != 3 or topics[0] != TRANSFER_TOPIC:
            continue
        data = _hex(log.get("data"))
        if len(data) != 2 + 64:
            continue
        found.append(
            _Transfer(
                token=_addr(log.get("address")),
                sender="0x" + topics[1][-40:],
                recipient="0x" + topics[2][-40:],
                amount=int(data, 16),
            )
        )
    return found


def _block_time_ms(chain: Web3Chain, block_hash: str) -> int:
    block = chain.rpc("eth_getBlockByHash", [block_hash, False])
    if not block:
        raise TxNotConfirmed("the transaction's block is gone (re-org); try again")
    return int(block["timestamp"], 16) * 1000


def _hex(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value).lower()
    return text if text.startswith("0x") else "0x" + text


def _addr(value: Any) -> str:
    return _hex(value) if value else ""


def _show(value: Any) -> str | None:
    return str(value) if value else None


# -- one transaction pays one thing, ever ------------------------------------------------------


def tx_guard_key(tx_hash: str) -> dict[str, str]:
    return key(f"txguard#{normalize_tx_hash(tx_hash)}", "txguard")


def tx_guard_op(tx_hash: str, used_for: str, now_ms: int) -> Op:
    """A put that fails if `tx_hash` already paid anything; `used_for` names what it pays."""
    item: Item = {**tx_guard_key(tx_hash), "used_for": used_for, "used_at": now_ms}
    return put_op(item, if_absent=True, name=TX_GUARD_OP)


def raise_if_tx_used(exc: TransactionFailed) -> None:
    """Translate a lost tx guard into 409 `tx_already_used` (saying what it paid)."""
    failure = exc.failed(TX_GUARD_OP)
    if failure is not None and failure.reason == "ConditionalCheckFailed":
        used = failure.item or {}
        raise TxAlreadyUsed(
            "this transaction has already been recorded as a payment",
            details={"used_for": used.get("used_for")},
        ) from exc


def ensure_tx_unused(store: DynamoStore, tx_hash: str) -> None:
    """409 early if the hash is already used (the transaction's guard stays authoritative)."""
    used = store.get(**tx_guard_key(tx_hash))
    if used is not None:
        raise TxAlreadyUsed(
            "this transaction has already been recorded as a payment",
            details={"used_for": used.get("used_for")},
        )



def _amounts(paid: int, expected: Expected) -> dict[str, str]:
    """Amounts for an error's details: decimal strings as the API takes them, and base units."""
    shown = {"paid_base_units": str(paid), "required_base_units": str(expected.min_amount)}
    decimals = expected.decimals
    if decimals is None and expected.asset == NATIVE:
        decimals = NATIVE_DECIMALS
    if decimals is None:
        return {"paid": str(paid), "required": str(expected.min_amount), **shown}
    return {"paid": format_amount(paid, decimals),
            "required": format_amount(expected.min_amount, decimals), **shown}
