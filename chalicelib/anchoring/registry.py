"""The AnchorRegistry's ABI, by hand: the `anchor` call, the `Anchored` event, the head getters.

Encoded without web3 (four static words), so the job that requests anchors and the offline
verifier stay light. `tests/integration/test_anchor_onchain.py` checks these bytes against the
compiled ABI and a real node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_hash.auto import keccak

ANCHOR_SIGNATURE = b"anchor(uint256,bytes32,bytes32,uint256)"
ANCHOR_SELECTOR = keccak(ANCHOR_SIGNATURE)[:4]
ANCHORED_TOPIC = "0x" + keccak(b"Anchored(uint256,bytes32,uint256,bytes32)").hex()
LAST_SEQ_SELECTOR = keccak(b"last_seq()")[:4]
LAST_ROOT_SELECTOR = keccak(b"last_root()")[:4]
SUBMITTER_SELECTOR = keccak(b"submitter()")[:4]

Call = Callable[[str, bytes], bytes]  # (contract, calldata) -> return data of an eth_call


def word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def anchor_calldata(batch_seq: int, prev: bytes, root: bytes, tree_size: int) -> str:
    """0x-hex calldata of `anchor(batch_seq, prev, root, tree_size)`."""
    return "0x" + (ANCHOR_SELECTOR + word(batch_seq) + prev + root + word(tree_size)).hex()


def seq_topic(batch_seq: int) -> str:
    return "0x" + word(batch_seq).hex()


def _hex(value: Any) -> str:
    """Log fields arrive as HexBytes from web3 and as strings from raw JSON-RPC."""
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else "0x" + value.lower()
    return "0x" + bytes(value).hex()


def topics_of(log: dict[str, Any]) -> list[str]:
    return [_hex(t) for t in log.get("topics", [])]


def data_of(log: dict[str, Any]) -> bytes:
    return bytes.fromhex(_hex(log.get("data", "0x"))[2:])


def log_index_of(log: dict[str, Any]) -> int:
    value = log.get("logIndex")
    return int(value, 16) if isinstance(value, str) else int(value)


def find_anchored_log(
    logs: list[dict[str, Any]], contract: str, batch_seq: int
) -> dict[str, Any] | None:
    """The `Anchored` log of `batch_seq` emitted by `contract`, if the receipt holds one."""
    for log in logs:
        topics = topics_of(log)
        if (
            str(log.get("address", "")).lower() == contract.lower()
            and len(topics) == 3
            and topics[0] == ANCHORED_TOPIC
            and topics[1] == seq_topic(batch_seq)
        ):
            return log
    return None


@dataclass(frozen=True)
class OnChainHead:
    submitter: str
    last_seq: int
    last_root: bytes


def read_head(call: Call, contract: str) -> OnChainHead:
    submitter = call(contract, SUBMITTER_SELECTOR)
    last_seq = call(contract, LAST_SEQ_SELECTOR)
    last_root = call(contract, LAST_ROOT_SELECTOR)
    if len(submitter) != 32 or len(last_seq) != 32 or len(last_root) != 32:
        raise ValueError("the address does not answer like an AnchorRegistry")
    return OnChainHead(
        "0x" + submitter[12:].hex(), int.from_bytes(last_seq, "big"), bytes(last_root)
    )


def chain_call(chain: Any) -> Call:
    """An eth_call through the service's chain adapter (`Web3Chain.rpc`)."""

    def call(contract: str, data: bytes) -> bytes:
        out = chain.rpc("eth_call", [{"to": contract, "data": "0x" + data.hex()}, "latest"])
        return bytes.fromhex(str(out or "0x").removeprefix("0x"))

    return call
