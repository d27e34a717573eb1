"""Turning a payout into an EIP-1559 transaction: gas limit, fees, value and calldata."""

from __future__ import annotations

from typing import Any

from chalicelib.core.chain import Signer, Web3Chain, erc20_transfer_data
from chalicelib.core.outbox.model import NATIVE, amount_of
from chalicelib.core.store import Item

NATIVE_TRANSFER_GAS = 21_000
# Used when the node's estimate says the call would revert: the transaction is sent anyway so
# its reverted receipt proves on chain that no money moved (the payout then ends `failed`).
TOKEN_TRANSFER_FALLBACK_GAS = 100_000
CALL_FALLBACK_GAS = 200_000
# Estimates can be a little low when state changes between estimate and inclusion.
GAS_HEADROOM_PERCENT = 20


def call_fields(payout: Item) -> tuple[str, int, bytes]:
    """(to, value, data) of the transaction that performs the payout."""
    if payout.get("data"):
        return payout["to"], amount_of(payout), bytes.fromhex(payout["data"].removeprefix("0x"))
    if payout["asset"] == NATIVE:
        return payout["to"], amount_of(payout), b""
    return payout["asset"], 0, erc20_transfer_data(payout["to"], amount_of(payout))


def gas_limit(chain: Web3Chain, sender: str, payout: Item, cache: dict[str, Any]) -> int:
    to, value, data = call_fields(payout)
    if not data:
        contracts = cache.setdefault("has_code", {})
        if to not in contracts:
            contracts[to] = chain.has_code(to)
        if not contracts[to]:
            return NATIVE_TRANSFER_GAS
    estimate = chain.estimate_gas({"from": sender, "to": to, "value": value, "data": data})
    if estimate is None:
        return TOKEN_TRANSFER_FALLBACK_GAS if payout["asset"] != NATIVE else CALL_FALLBACK_GAS
    return estimate * (100 + GAS_HEADROOM_PERCENT) // 100


def build(
    payout: Item,
    nonce: int,
    chain_id: int,
    gas: int,
    max_fee: int,
    tip: int,
    noop: bool = False,
) -> dict[str, Any]:
    # A no-op is a 0-value transfer to our own wallet: it uses up the nonce and moves nothing.
    to, value, data = (payout["wallet"], 0, b"") if noop else call_fields(payout)
    return {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "to": to,
        "value": value,
        "data": data,
        "gas": gas,
        "maxFeePerGas": max_fee,
        "maxPriorityFeePerGas": min(tip, max_fee),
    }


def sign_attempt(
    signer: Signer,
    payout: Item,
    nonce: int,
    chain_id: int,
    gas: int,
    max_fee: int,
    tip: int,
    now: int,
    noop: bool = False,
) -> dict[str, Any]:
    """Sign the payout's transaction (or its no-op); the record keeps the bytes for resending."""
    if noop:
        gas = NATIVE_TRANSFER_GAS
    raw, tx_hash = signer.sign(build(payout, nonce, chain_id, gas, max_fee, tip, noop))
    extra = {"noop": True} if noop else {}
    return {
        **extra,
        "hash": tx_hash,
        "raw_tx": raw.hex(),
        "max_fee": str(max_fee),
        "tip": str(tip),
        "gas": gas,
        "signed_at": now,
    }


def bumped(old: int, current: int, percent: int) -> int:
    """A replacement fee: at least `percent` above the old one, and no less than today's."""
    return max(-(-old * (100 + percent) // 100), current)
