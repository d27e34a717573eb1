"""The chain adapter: one web3 connection and typed broadcast errors (signers: signer.py).

This module imports web3 and eth_account at the top, so only code paths that really touch the
chain import it (rule 12: routes that don't touch the chain stay cheap to cold-start).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from chalicelib.core.errors import DependencyUnavailable, ServiceError
from chalicelib.core.signer import HotSigner

# ERC-20 `transfer(address,uint256)` selector and `Transfer` event topic: standard constants.
ERC20_TRANSFER_SELECTOR = bytes.fromhex("a9059cbb")
ERC20_TRANSFER_TOPIC = "0x" + bytes(Web3.keccak(text="Transfer(address,address,uint256)")).hex()
ERC20_BALANCE_OF_SELECTOR = bytes.fromhex("70a08231")
# A node that does not even accept the connection within this is down; loopback and a healthy
# provider connect in milliseconds.
CONNECT_TIMEOUT_S = 2.0


class ChainUnavailable(DependencyUnavailable):
    """The JSON-RPC node did not answer (connection refused, timeout)."""

    code = "chain_unavailable"


class BroadcastRejected(ServiceError):
    """The node refused a raw transaction; subclasses say why."""

    code = "broadcast_rejected"


class AlreadyKnown(BroadcastRejected):
    """The node already has this exact transaction."""


class NonceTooLow(BroadcastRejected):
    """A transaction with this nonce was already mined (ours or a replacement of it)."""


class ReplacementUnderpriced(BroadcastRejected):
    """Another transaction with this nonce is pending with equal or higher fees."""


class InsufficientFunds(BroadcastRejected):
    """The hot wallet cannot pay value + gas."""


# JSON-RPC nodes report these conditions only as text (geth, erigon, hardhat all use code
# -32000 or -32003), so this adapter is the one place that reads error messages.
_REJECTIONS: list[tuple[tuple[str, ...], type[BroadcastRejected]]] = [
    (("already known", "known transaction", "already imported"), AlreadyKnown),
    (("nonce too low",), NonceTooLow),
    (
        ("replacement transaction underpriced", "replacement fee too low", "underpriced"),
        ReplacementUnderpriced,
    ),
    (("insufficient funds", "doesn't have enough funds", "not enough funds"), InsufficientFunds),
]


def classify_rejection(message: str) -> BroadcastRejected:
    text = message.lower()
    for needles, cls in _REJECTIONS:
        if any(n in text for n in needles):
            return cls(message)
    return BroadcastRejected(message)


def checksum(address: str) -> str:
    return str(to_checksum_address(address))


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    status: int
    block_number: int
    block_hash: str
    gas_used: int
    logs: list[dict[str, Any]]


# The engine's name for the hot wallet: whichever signer the runtime built (signer.py).
Signer = HotSigner


class Web3Chain:
    """JSON-RPC access for the service (lazy connection, short timeouts, typed errors).

    One time budget bounds the calls: each waits at most `timeout` (web3's own retries are
    switched off: they turned one hung call into six), and once a call has timed out the node
    counts as down for `timeout` seconds, so the next calls of the same request fail at once
    instead of each waiting out its own timeout.
    """

    def __init__(self, rpc_url: str, chain_id: int, timeout: float = 5.0) -> None:
        self.rpc_url = rpc_url
        self.chain_id = chain_id
        self.timeout = timeout
        self._down_until = 0.0
        provider = Web3.HTTPProvider(
            rpc_url,
            request_kwargs={"timeout": (min(timeout, CONNECT_TIMEOUT_S), timeout)},
            exception_retry_configuration=None,
        )
        self.w3 = Web3(provider)

    def _rpc(self, fn: Any, *args: Any) -> Any:
        if time.monotonic() < self._down_until:
            raise ChainUnavailable("the chain node did not answer within the time budget")
        try:
            return fn(*args)
        except (requests.ConnectionError, requests.Timeout, OSError) as exc:
            if isinstance(exc, requests.Timeout):
                self._down_until = time.monotonic() + self.timeout
            raise ChainUnavailable("the chain node cannot be reached") from exc

    def health(self) -> str:
        """'ok', or a short reason the chain is not usable."""
        try:
            actual = self._rpc(lambda: self.w3.eth.chain_id)
        except ChainUnavailable:
            return "unreachable"
        except Exception as exc:  # noqa: BLE001 - health reports, it never raises
            return f"error: {type(exc).__name__}"
        if actual != self.chain_id:
            return f"wrong chain id {actual}, expected {self.chain_id}"
        return "ok"

    def block_number(self) -> int:
        return int(self._rpc(lambda: self.w3.eth.block_number))

    def nonce(self, address: str, block: str = "latest") -> int:
        return int(self._rpc(self.w3.eth.get_transaction_count, checksum(address), block))

    def balance(self, address: str, block: int | str = "latest") -> int:
        return int(self._rpc(self.w3.eth.get_balance, checksum(address), block))

    def token_balance(self, token: str, address: str, block: int | str = "latest") -> int:
        data = ERC20_BALANCE_OF_SELECTOR + bytes(12) + bytes.fromhex(address[2:])
        call = {"to": checksum(token), "data": "0x" + data.hex()}
        out = self._rpc(self.w3.eth.call, call, block)
        return int.from_bytes(bytes(out), "big") if out else 0

    def has_code(self, address: str) -> bool:
        return len(self._rpc(self.w3.eth.get_code, checksum(address))) > 0

    def finalized_block(self, head: int) -> int | None:
        """The chain's `finalized` block, or None where the node has no real finality.

        Development nodes (hardhat, anvil) answer the tag with the head itself: a finalized
        block that is never behind the head is no finality at all, so it reads as None and
        the caller counts FINALITY_DEPTH confirmations instead.
        """
        try:
            block = self._rpc(self.w3.eth.get_block, "finalized")
        except ChainUnavailable:
            raise
        except Exception:  # noqa: BLE001 - a node without the tag answers an RPC error
            return None
        number = int(block["number"]) if block else None
        if number is None or number >= head:
            return None
        return number

    def fees(self) -> tuple[int, int]:
        """(max_fee_per_gas, max_priority_fee_per_gas) for a transaction sent now."""
        block = self._rpc(self.w3.eth.get_block, "latest")
        base = int(block.get("baseFeePerGas", 0) or 0)
        try:
            tip = int(self._rpc(lambda: self.w3.eth.max_priority_fee))
        except Web3RPCError:
            tip = 10**9
        return 2 * base + tip, tip

    def send_raw(self, raw: bytes) -> str:
        try:
            tx_hash = self._rpc(self.w3.eth.send_raw_transaction, raw)
        except Web3RPCError as exc:
            raise classify_rejection(_rpc_message(exc)) from exc
        except ValueError as exc:  # older providers raise ValueError with the RPC error dict
            raise classify_rejection(str(exc)) from exc
        return "0x" + bytes(tx_hash).hex()

    def receipt(self, tx_hash: str) -> Receipt | None:
        try:
            r = self._rpc(self.w3.eth.get_transaction_receipt, tx_hash)
        except TransactionNotFound:
            return None
        if r is None or r.get("blockNumber") is None:
            return None
        return Receipt(
            tx_hash=tx_hash,
            status=int(r["status"]),
            block_number=int(r["blockNumber"]),
            block_hash="0x" + bytes(r["blockHash"]).hex(),
            gas_used=int(r["gasUsed"]),
            logs=[dict(log) for log in r["logs"]],
        )

    def transaction(self, tx_hash: str) -> dict[str, Any] | None:
        try:
            tx = self._rpc(self.w3.eth.get_transaction, tx_hash)
        except TransactionNotFound:
            return None
        return dict(tx) if tx is not None else None

    def block_hash(self, number: int) -> str | None:
        try:
            block = self._rpc(self.w3.eth.get_block, number)
        except Exception:  # noqa: BLE001 - a missing block reads as None
            return None
        return "0x" + bytes(block["hash"]).hex() if block else None

    def estimate_gas(self, tx: dict[str, Any]) -> int | None:
        """Gas estimate, or None when the call would revert."""
        try:
            return int(self._rpc(self.w3.eth.estimate_gas, tx))
        except (ContractLogicError, Web3RPCError, ValueError):
            return None

    def rpc(self, method: str, params: list[Any]) -> Any:
        """A raw JSON-RPC call (local tooling and tests: evm_mine, hardhat_*)."""
        resp = self._rpc(self.w3.provider.make_request, method, params)
        if "error" in resp:
            raise BroadcastRejected(str(resp["error"].get("message")))
        return resp.get("result")


def _rpc_message(exc: Web3RPCError) -> str:
    response = getattr(exc, "rpc_response", None) or {}
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(exc)


def erc20_transfer_data(to: str, amount: int) -> bytes:
    return ERC20_TRANSFER_SELECTOR + bytes(12) + bytes.fromhex(to[2:]) + amount.to_bytes(32, "big")
