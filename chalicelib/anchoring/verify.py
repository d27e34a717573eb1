"""Offline verifier: checks a receipt with nothing but the receipt and a JSON-RPC endpoint.

    python -m chalicelib.anchoring.verify RECEIPT.json --rpc URL \
        (--contract 0x… --chain-id N | --trust TRUST.json) [--confirmations N]

The first line printed is the verdict, and the exit code says the same:

    0  valid                the receipt is proven, against the registry and chain you pinned
    1  invalid: <reason>    the receipt does not prove what it claims (forged, tampered, reverted)
    2  could not check: <reason>   the RPC endpoint failed, or the file cannot be read
    3  valid (unpinned)     proven against the registry the receipt itself names; anyone can
                            deploy a look-alike registry, so this alone proves nothing

A proven receipt is followed by the anchor's block number, block time and finality. Nothing the
service says is trusted:
the leaf is recomputed from the record's fields, the audit path is walked to the tree root, the
batch root is recomputed from chain id, contract, seq, prev, size and tree root, and then the
chain itself must hold, in the transaction named, a successful receipt whose log at the named
index was emitted by the registry with topics `Anchored(seq, root)` and data (size, prev), buried
under enough blocks. A root that only appears in calldata proves nothing and is never looked at.

Pin the registry address and chain id you trust with --contract and --chain-id (published by the
operator), or with --trust: a JSON file holding the operator's `GET /v1/info` answer or
`{"chain_id": N, "contract": "0x…"}`.

Integers that may exceed 2^53 (`leaf.fields.seq`, `batch.seq`) are decimal strings from receipt
version 2 on, so JavaScript parses them losslessly; version 1 receipts (JSON integers) still verify.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.anchoring import merkle
from chalicelib.anchoring.registry import ANCHORED_TOPIC, seq_topic, word
from chalicelib.core import confirmations

# The service's own default depth. For a public chain choose more (e.g. 12 on Ethereum).
DEFAULT_CONFIRMATIONS = 2
RECEIPT_VERSIONS = (1, 2)
SEQ_TEXT_RE = re.compile(r"0|[1-9][0-9]{0,77}")

VALID, INVALID, UNCHECKED, UNPINNED = "valid", "invalid", "could not check", "valid (unpinned)"
EXIT_CODES = {VALID: 0, INVALID: 1, UNCHECKED: 2, UNPINNED: 3}
CHAIN_RE = re.compile(r"^eip155:([1-9][0-9]{0,15})$")
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


class Invalid(Exception):
    """The receipt does not prove what it claims; the message says why."""


class RpcError(Exception):
    """The endpoint could not answer."""


class Unreadable(Exception):
    """The receipt or the trust file cannot be read."""


@dataclass(frozen=True)
class Pins:
    """The registry and chain the user trusts (from the operator, not from the receipt)."""

    chain_id: int
    contract: str


@dataclass
class Verdict:
    """What the verifier knows: its verdict, why, and (when proven) where the anchor sits."""

    status: str
    reason: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def headline(self) -> str:
        return f"{self.status}: {self.reason}" if self.reason else self.status

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def lines(self) -> list[str]:
        shown = [f"{name}: {value}" for name, value in self.facts.items()]
        return [self.headline, *shown]


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


def _uint(obj: Any, name: str, minimum: int = 0, *, text: bool = False) -> int:
    """A non-negative integer field; `text` also takes a decimal string (big values in v2)."""
    raw = _get(obj, name, (int, str) if text else int)
    if isinstance(raw, str):
        if not SEQ_TEXT_RE.fullmatch(raw):
            raise Invalid(f"malformed receipt: {name} must be a decimal integer")
        raw = int(raw, 10)
    if raw < minimum or raw >= 2**256:
        raise Invalid(f"malformed receipt: {name} is out of range")
    return int(raw)


# -- checks ------------------------------------------------------------------------------------


def check_proof(receipt: Any, contract: str | None = None, chain_id: int | None = None) -> None:
    """Everything that needs no chain: leaf, audit path, batch root, pins. Raises Invalid."""
    if _get(receipt, "version", int) not in RECEIPT_VERSIONS:
        raise Invalid(f"unsupported receipt version (this verifier reads {RECEIPT_VERSIONS})")
    leaf, batch, anchor = (_get(receipt, k, dict) for k in ("leaf", "batch", "anchor"))
    fields = dict(_get(leaf, "fields", dict))
    if isinstance(fields.get("seq"), str):
        fields["seq"] = _uint(fields, "seq", text=True)
    try:
        computed = merkle.leaf_hash(fields)
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
        _uint(batch, "seq", 1, text=True),
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


def check_chain(receipt: dict[str, Any], rpc: JsonRpc, min_confirmations: int) -> dict[str, Any]:
    """The anchor is on the chain the receipt names, as the registry's log, deep enough.

    Returns what a timestamping user came for: block number, block time, depth and finality.
    """
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
    seq = _uint(batch, "seq", 1, text=True)
    wanted = [ANCHORED_TOPIC, seq_topic(seq), batch["root"].lower()]
    if topics != wanted:
        raise Invalid("the log is not Anchored(seq, root) of this batch")
    data = bytes.fromhex(str(log.get("data", "0x"))[2:])
    if data != word(receipt["tree_size"]) + _h32(batch, "prev"):
        raise Invalid("the log's tree size or prev differ from the receipt")
    depth = confirmations.count(_int(rpc.call("eth_blockNumber", [])), block_number)
    if depth < min_confirmations:
        raise Invalid(f"only {depth} confirmations, {min_confirmations} required")
    block = rpc.call("eth_getBlockByNumber", [hex(block_number), False]) or {}
    if str(block.get("hash", "")).lower() != block_hash:
        raise Invalid("the receipt's block is no longer on this chain (re-organised?)")
    return {
        "block": f"{block_number} ({block_hash})",
        "block time": _block_time(block),
        # As wallets count them: the including block is confirmation 1.
        "confirmations": depth,
        "finality": _finality(rpc, block_number),
    }


def _block_time(block: dict[str, Any]) -> str:
    stamp = _int(block.get("timestamp", "0x0"))
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)) + f" (unix {stamp})"


def _finality(rpc: JsonRpc, block_number: int) -> str:
    """Final once the chain's `finalized` block is at or past the anchor's; said plainly if the
    node does not report one."""
    try:
        final = rpc.call("eth_getBlockByNumber", ["finalized", False])
    except RpcError:
        final = None
    if not final or final.get("number") is None:
        return "unknown (the node reports no finalized block)"
    finalized = _int(final["number"])
    if finalized >= block_number:
        return f"final (the chain's finalized block is {finalized})"
    return f"not final yet (the chain's finalized block is {finalized})"


def check(
    receipt: Any,
    rpc: JsonRpc,
    pins: Pins | None,
    *,
    min_confirmations: int = DEFAULT_CONFIRMATIONS,
) -> Verdict:
    """The verdict on a receipt; without pins, at best `valid (unpinned)`."""
    try:
        check_proof(receipt, pins.contract if pins else None, pins.chain_id if pins else None)
        facts = check_chain(receipt, rpc, min_confirmations)
    except Invalid as exc:
        return Verdict(INVALID, str(exc))
    except RpcError as exc:
        return Verdict(UNCHECKED, f"the RPC endpoint failed: {exc}")
    if pins is None:
        anchor = receipt["anchor"]
        reason = (
            f"proven against the registry {anchor['contract']} on {anchor['chain']} that the "
            "receipt names; pin the operator's with --contract and --chain-id, or --trust"
        )
        return Verdict(UNPINNED, reason, facts)
    return Verdict(VALID, facts=facts)


def verify(
    receipt: Any,
    rpc: JsonRpc,
    *,
    contract: str | None = None,
    chain_id: int | None = None,
    min_confirmations: int = DEFAULT_CONFIRMATIONS,
) -> str:
    """The verdict's first line (pinned only when both the contract and the chain id are)."""
    pins = Pins(chain_id, contract) if contract is not None and chain_id is not None else None
    if pins is None and (contract is not None or chain_id is not None):
        # A half pin still checks what it pins, but the verdict is unpinned at best.
        try:
            check_proof(receipt, contract, chain_id)
        except Invalid as exc:
            return f"{INVALID}: {exc}"
    return check(receipt, rpc, pins, min_confirmations=min_confirmations).headline


# -- the command line --------------------------------------------------------------------------


def read_json(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise Unreadable(f"cannot read {path}: {exc}") from exc


def trust_pins(data: Any) -> Pins:
    """Pins from a trust file: `GET /v1/info`'s answer, or {"chain_id", "contract"}."""
    if not isinstance(data, dict):
        raise Unreadable("the trust file must hold a JSON object")
    contract = data.get("contract") or (data.get("contracts") or {}).get("anchor_registry")
    chain_id = data.get("chain_id")
    if not isinstance(contract, str) or not ADDRESS_RE.match(contract):
        raise Unreadable("the trust file names no registry (contract or contracts.anchor_registry)")
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id < 1:
        raise Unreadable("the trust file names no chain_id")
    return Pins(chain_id, contract)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.anchoring.verify",
        description="Verify a Settlekit anchoring receipt against a JSON-RPC endpoint. Exit "
        "codes: 0 valid, 1 invalid, 2 could not check, 3 valid but unpinned.",
    )
    parser.add_argument("receipt", help="the receipt JSON file ('-' for stdin)")
    parser.add_argument("--rpc", required=True, help="JSON-RPC URL of the chain")
    parser.add_argument("--contract", help="the AnchorRegistry address you trust (pin)")
    parser.add_argument("--chain-id", type=int, help="the chain id you expect (pin)")
    parser.add_argument(
        "--trust", help='pins from a file: GET /v1/info\'s JSON, or {"chain_id", "contract"}'
    )
    parser.add_argument(
        "--confirmations", type=int, default=DEFAULT_CONFIRMATIONS,
        help=f"blocks required on top of the anchor's (default {DEFAULT_CONFIRMATIONS})",
    )
    args = parser.parse_args(argv)
    if args.contract is not None and not ADDRESS_RE.match(args.contract):
        parser.error("--contract must be a 0x-prefixed 20-byte hex address")
    if args.trust and (args.contract or args.chain_id is not None):
        parser.error("give either --trust or --contract and --chain-id, not both")
    if (args.contract is None) != (args.chain_id is None):
        parser.error("--contract and --chain-id pin together; give both (or --trust)")
    try:
        pins = trust_pins(read_json(args.trust)) if args.trust else None
        if args.contract is not None:
            pins = Pins(args.chain_id, args.contract)
        receipt = read_json(args.receipt)
    except Unreadable as exc:
        verdict = Verdict(UNCHECKED, str(exc))
    else:
        verdict = check(receipt, JsonRpc(args.rpc), pins, min_confirmations=args.confirmations)
    print("\n".join(verdict.lines()))
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
