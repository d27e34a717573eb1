"""The chain's own clock: the head block's number and time.

A rule that compares when something was mined with when the service did something must compare
block times with block times. The service's clock and the chain's disagree (hardhat ran 53-128 s
ahead on `make dev`), so the service records the head block at the moment that matters and later
compares the mined block's time with that block's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.core.chain import Web3Chain


@dataclass(frozen=True)
class BlockTime:
    number: int
    time_ms: int


def head(chain: Web3Chain) -> BlockTime:
    """The latest block (ChainUnavailable when the node cannot be asked)."""
    block = chain.rpc("eth_getBlockByNumber", ["latest", False])
    return BlockTime(int(block["number"], 16), int(block["timestamp"], 16) * 1000)
