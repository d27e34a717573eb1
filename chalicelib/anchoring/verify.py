"""Offline verifier: checks a receipt with nothing but the receipt and a JSON-RPC endpoint.

    python -m chalicelib.anchoring.verify RECEIPT.json --rpc URL \
        [--contract 0x…] [--chain-id N] [--confirmations N]

Prints `valid`, or `invalid: <reason>`, and exits 0 or 1. Nothing the service says is trusted:
the leaf is recomputed from the record's fields, the audit path is walked to the tree root, the
batch root is recomputed from chain id, contract, seq, prev, size and tree root, and then the
chain itself must hold, in the transaction named, a successful receipt whose log at the named
index was emitted by the registry with topics `Anchored(seq, root)` and data (size, prev), buried
under enough blocks. A root that only appears in calldata proves nothing and is never looked at.

Pin the registry address and chain id you trust with --contract and --chain-id (published by the
operator); without pins the verifier checks the receipt against the contract and chain it names.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chalicelib.anchoring import merkle
from chalicelib.anchoring.registry import ANCHORED_TOPIC, seq_topic, word
from chalicelib.core import confirmations

# The service's own default depth. For a public chain choose more (e.g. 12 on Ethereum).
DEFAULT_CONFIRMATIONS = 2
RECEIPT_VERSION = 1
CHAIN_RE = re.compile(r"^eip155:([1-9][0-9]{0,15})$")
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


class Invalid(Exception):
    """The receipt does not prove what it claims; the message says why."""


class RpcError(Exception):
    """The endpoint could not answer."""


class JsonRpc:
    """A bare JSON-RPC client over HTTP (no web3: anyone can read what it asks)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def call(self, method: str, params: list[Any]) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                answer = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RpcError(f"{method} failed: {exc}") from exc
        if "error" in answer:
            raise RpcError(f"{method} failed: {answer['error']}")
        return answer.get("result")


# -- the receipt's shape -----------------------------------------------------------------------


def _get(obj: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    value = obj.get(name) if isinstance(obj, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Invalid(f"malformed receipt: {name} is missing or has the wrong type")
    return value


def _h32(obj: Any, name: str) -> bytes:
    try:
        return merkle.from_hex32(_get(obj, name, str))
    except ValueError:
        raise Invalid(f"malformed receipt: {name} must be 0x followed by 64 hex digits") from None


def _uint(obj: Any, name: str, minimum: int = 0) -> int:
    value = _get(obj, name, int)
    if value < minimum or value >= 2**256:
        raise Invalid(f"malformed receipt: {name} is out of range")
    return int(value)


# -- checks ------------------------------------------------------------------------------------


def check_proof(receipt: Any, contract: str | None = None, chain_id: int | None = None) -> None:
    """Everything that needs no chain: leaf, audit path, batch root, pins. Raises Invalid."""
    if _get(receipt, "version", int) != RECEIPT_VERSION:
        raise Invalid(f"unsupported receipt version (this verifier reads {RECEIPT_VERSION})")
    leaf, batch, anchor = (_get(receipt, k, dict) for k in ("leaf", "batch", "anchor"))
    try:
        computed = merkle.leaf_hash(_get(leaf, "fields", dict))
    except merkle.LeafError as exc:
        raise Invalid(f"malformed receipt: leaf fields: {exc}") from None
    if computed != _h32(leaf, "hash"):
        raise Invalid("the leaf hash does not match the record's fields")
    index, size = _uint(receipt, "index"), _uint(receipt, "tree_size", 1)
    raw_path = _get(receipt, "path", list)
    path = [_h32({"path": p}, "path") for p in raw_path]
    implied = merkle.root_from_path(computed, index, size, path)
    if implied is None:
        raise Invalid("the audit path does not fit this index and tree size")
    tree_root = _h32(batch, "tree_root")
    if implied != tree_root:
        raise Invalid("the audit path does not lead to the batch's tree root")
    match = CHAIN_RE.match(_get(anchor, "chain", str))
    if not match:
        raise Invalid("malformed receipt: anchor.chain must look like eip155:<chain id>")
    receipt_chain = int(match.group(1))
    receipt_contract = _get(anchor, "contract", str)
    if not ADDRESS_RE.match(receipt_contract):
        raise Invalid("malformed receipt: anchor.contract must be a 20-byte hex address")
    if chain_id is not None and receipt_chain != chain_id:
        raise Invalid(f"the receipt is for chain {receipt_chain}, not the pinned chain {chain_id}")
    if contract is not None and receipt_contract.lower() != contract.lower():
        raise Invalid(
            f"the receipt names contract {receipt_contract}, not the pinned registry {contract}"
        )
    expected = merkle.batch_root(
        receipt_chain,
        receipt_contract,
        _uint(batch, "seq", 1),
        _h32(batch, "prev"),
        size,
        tree_root,
    )
    if expected != _h32(batch, "root"):
        raise Invalid(
            "the batch root does not match its chain, contract, seq, prev, size and tree root"
        )


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def check_chain(receipt: dict[str, Any], rpc: JsonRpc, min_confirmations: int) -> None:
    """The anchor is on the chain the receipt names, as the registry's log, deep enough."""
    anchor, batch = receipt["anchor"], receipt["batch"]
    chain = int(anchor["chain"].split(":")[1])
    contract = anchor["contract"].lower()
    served = _int(rpc.call("eth_chainId", []))
    if served != chain:
        raise Invalid(f"the RPC endpoint serves chain {served}, the receipt is for chain {chain}")
    tx_hash = "0x" + _h32(anchor, "tx_hash").hex()
    block_number = _uint(anchor, "block_number")
    block_hash = "0x" + _h32(anchor, "block_hash").hex()
    log_index = _uint(anchor, "log_index")
    tx = rpc.call("eth_getTransactionReceipt", [tx_hash])
    if not tx or tx.get("blockNumber") is None:
        raise Invalid("the anchor transaction is not on this chain (never mined, or re-organised)")
    if _int(tx.get("status", "0x0")) != 1:
        raise Invalid("the anchor transaction reverted (status 0)")
    moved = _int(tx["blockNumber"]) != block_number
    if moved or str(tx.get("blockHash", "")).lower() != block_hash:
        raise Invalid("the anchor transaction is not in the receipt's block (re-organised?)")
    log = next((x for x in tx.get("logs", []) if _int(x.get("logIndex", -1)) == log_index), None)
    if log is None:
        raise Invalid(f"the anchor transaction has no log at index {log_index}")
    if str(log.get("address", "")).lower() != contract:
        raise Invalid(f"the log at index {log_index} was not emitted by the registry {contract}")
    if log.get("removed"):
        raise Invalid("the log was removed by a re-organisation")
    topics = [str(t).lower() for t in log.get("topics", [])]
    wanted = [ANCHORED_TOPIC, seq_topic(_uint(batch, "seq", 1)), batch["root"].lower()]
    if topics != wanted:
        raise Invalid("the log is not Anchored(seq, root) of this batch")
    data = bytes.fromhex(str(log.get("data", "0x"))[2:])
    if data != word(receipt["tree_size"]) + _h32(batch, "prev"):
        raise Invalid("the log's tree size or prev differ from the receipt")
    depth = confirmations.count(_int(rpc.call("eth_blockNumber", [])), block_number)
    if depth < min_confirmations:
        raise Invalid(f"only {depth} confirmations, {min_confirmations} required")


def verify(
    receipt: Any,
    rpc: JsonRpc,
    *,
    contract: str | None = None,
    chain_id: int | None = None,
    min_confirmations: int = DEFAULT_CONFIRMATIONS,
) -> str:
    """'valid', or 'invalid: <reason>'."""
    try:
        check_proof(receipt, contract, chain_id)
        check_chain(receipt, rpc, min_confirmations)
    except Invalid as exc:
        return f"invalid: {exc}"
    except RpcError as exc:
        return f"invalid: could not check on chain: {exc}"
    return "valid"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.anchoring.verify",
        description="Verify a Settlekit anchoring receipt against a JSON-RPC endpoint.",
    )
    parser.add_argument("receipt", help="the receipt JSON file ('-' for stdin)")
    parser.add_argument("--rpc", required=True, help="JSON-RPC URL of the chain")
    parser.add_argument("--contract", help="the AnchorRegistry address you trust (pin)")
    parser.add_argument("--chain-id", type=int, help="the chain id you expect (pin)")
    parser.add_argument(
        "--confirmations", type=int, default=DEFAULT_CONFIRMATIONS,
        help=f"blocks required on top of the anchor's (default {DEFAULT_CONFIRMATIONS})",
    )
    args = parser.parse_args(argv)
    if args.contract is not None and not ADDRESS_RE.match(args.contract):
        parser.error("--contract must be a 0x-prefixed 20-byte hex address")
    try:
        text = sys.stdin.read() if args.receipt == "-" else Path(args.receipt).read_text()
        receipt = json.loads(text)
    except (OSError, ValueError) as exc:
        print(f"invalid: cannot read the receipt: {exc}")
        return 1
    result = verify(
        receipt,
        JsonRpc(args.rpc),
        contract=args.contract,
        chain_id=args.chain_id,
        min_confirmations=args.confirmations,
    )
    print(result)
    return 0 if result == "valid" else 1


if __name__ == "__main__":
    sys.exit(main())
