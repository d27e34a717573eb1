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
from typing import TYPE_CHECKING, Any

from chalicelib.core.settings import Settings

if TYPE_CHECKING:
    from chalicelib.core.chain import Signer

ESCROW = "escrow"
FAUCET = "faucet"
ANCHOR = "anchor"
PURPOSES = (ESCROW, FAUCET, ANCHOR)


def key_for(settings: Settings, purpose: str) -> str | None:
    """The key that signs for `purpose`: its own, else the shared wallet's, else None.

    The one lookup of a purpose's key; a signer backed by a KMS key plugs in here.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown wallet purpose {purpose!r}")
    own: str | None = getattr(settings, f"{purpose}_private_key")
    return own or settings.signer_private_key


def make_signer(secret: str) -> Signer:
    """The one place a configured key becomes a Signer (another key source plugs in here)."""
    from chalicelib.core.chain import Signer

    return Signer(secret)


class Wallets:
    """The signers by purpose, built on first use (eth_account is imported only then)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._by_key: dict[str, Signer] = {}
        self._lock = threading.Lock()

    def signer(self, purpose: str) -> Signer | None:
        return self._build(key_for(self.settings, purpose))

    def shared(self) -> Signer | None:
        """The shared wallet (SIGNER_PRIVATE_KEY), or None."""
        return self._build(self.settings.signer_private_key)

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
