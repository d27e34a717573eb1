"""Wallets by purpose: which key pays for what, looked up in one place.

Purposes: `escrow` (OTC deposits, settlements and refunds), `faucet` (drips and event claims),
`anchor` (anchor transactions). Each has its own key setting (ESCROW_PRIVATE_KEY, ...), so the
traders' escrow can never be spent by the faucet. A purpose without a key of its own is paid by
the shared wallet (SIGNER_PRIVATE_KEY) if one is set: the explicit choice of a small deployment,
reported as `shared` in /v1/info. A purpose with neither key is off.

Purposes are plain strings here: the payout engine and the flows both use them, and core never
imports a flow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.core.settings import Settings

if TYPE_CHECKING:
    from chalicelib.core.signer import HotSigner as Signer

ESCROW = "escrow"
FAUCET = "faucet"
ANCHOR = "anchor"
PURPOSES = (ESCROW, FAUCET, ANCHOR)


def key_for(settings: Settings, purpose: str) -> str | None:
    """The key of `purpose`'s own wallet, or None (then the shared wallet pays for it).

    The one lookup of a purpose's key; a per-purpose KMS key would plug in here.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown wallet purpose {purpose!r}")
    own: str | None = getattr(settings, f"{purpose}_private_key")
    return own


def make_signer(secret: str) -> Signer:
    """The one place a configured private key becomes a signer."""
    from chalicelib.core.signer import LocalKeySigner

    return LocalKeySigner(secret)


class Wallets:
    """The signers by purpose, built on first use (eth_account is imported only then)."""

    def __init__(self, settings: Settings, shared: Callable[[], Signer | None]) -> None:
        self.settings = settings
        self.shared = shared  # the shared wallet (SIGNER: a local key or a KMS key), or None
        self._by_key: dict[str, Signer] = {}
        self._lock = threading.Lock()

    def signer(self, purpose: str) -> Signer | None:
        own = key_for(self.settings, purpose)
        return self._build(own) if own else self.shared()

    def _build(self, key: str | None) -> Signer | None:
        if key is None:
            return None
        with self._lock:
            if key not in self._by_key:
                self._by_key[key] = make_signer(key)
            return self._by_key[key]

    def address(self, purpose: str) -> str | None:
        signer = self.signer(purpose)
        return signer.address if signer else None

    def signers(self) -> list[Signer]:
        """Each configured wallet once (a shared wallet serves several purposes)."""
        seen: dict[str, Signer] = {}
        for purpose in PURPOSES:
            signer = self.signer(purpose)
            if signer is not None:
                seen.setdefault(signer.address, signer)
        return list(seen.values())

    def purposes_of(self, address: str) -> list[str]:
        return [p for p in PURPOSES if (self.address(p) or "").lower() == address.lower()]

    def public(self) -> list[dict[str, Any]]:
        """What /v1/info shows: each wallet's address, its purposes, and whether it is shared."""
        out = []
        for signer in self.signers():
            purposes = self.purposes_of(signer.address)
            out.append({"address": signer.address, "purposes": purposes,
                        "shared": len(purposes) > 1})
        return out
