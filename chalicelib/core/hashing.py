"""keccak-256, loaded on first use.

eth_hash pulls in pycryptodome and cffi (tens of milliseconds); importing it lazily keeps that
off the cold start of routes that never hash.
"""

from __future__ import annotations

from collections.abc import Callable

_keccak: Callable[[bytes], bytes] | None = None


def keccak(data: bytes) -> bytes:
    global _keccak
    if _keccak is None:
        from eth_hash.auto import keccak as loaded

        _keccak = loaded
    return _keccak(data)
