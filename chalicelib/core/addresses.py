"""EVM addresses: strict parsing with the EIP-55 checksum, without importing web3.

Uses only keccak (chalicelib.core.hashing, loaded on first use), so routes that validate a
wallet but do not touch the chain stay cheap to cold-start.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.hashing import keccak

HEX40 = re.compile(r"^0x[0-9a-fA-F]{40}$")
ZERO = "0x" + "0" * 40


def to_checksum(address: str) -> str:
    """EIP-55 mixed-case form of a 0x-prefixed 40-hex-digit address."""
    lower = address[2:].lower()
    digest = keccak(lower.encode()).hex()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(lower)
    )


def normalize_address(value: Any, *, field: str = "address", allow_zero: bool = False) -> str:
    """A user-supplied address -> its checksummed form; BadRequest naming `field` otherwise.

    All-lower or all-upper hex carries no checksum and is accepted; mixed case must be a valid
    EIP-55 checksum (a typo in a mixed-case address is caught instead of paying a stranger).
    """
    if not isinstance(value, str):
        raise BadRequest(
            f"{field} must be a string", code="invalid_address", details={"field": field}
        )
    text = value.strip()
    if not HEX40.match(text):
        raise BadRequest(
            f"{field} must be 0x followed by 40 hex digits",
            code="invalid_address",
            details={"field": field},
        )
    body = text[2:]
    checksummed = to_checksum(text)
    if body != body.lower() and body != body.upper() and text != checksummed:
        raise BadRequest(
            f"{field} has an invalid EIP-55 checksum",
            code="invalid_checksum",
            details={"field": field},
        )
    if not allow_zero and text.lower() == ZERO:
        raise BadRequest(
            f"{field} must not be the zero address",
            code="invalid_address",
            details={"field": field},
        )
    return checksummed
