"""Wallets by purpose: which key pays for what, looked up in one place.

Purposes: `escrow` (OTC deposits, settlements and refunds), `faucet` (drips and event claims),
`anchor` (anchor transactions). Each has its own key: a local one (ESCROW_PRIVATE_KEY, ...) or a
KMS key in AWS (ESCROW_SIGNER=kms:..., by default the stage's alias for the purpose), so the
traders' escrow can never be spent by the faucet. A purpose without a key of its own is paid by
the shared wallet (SIGNER or SIGNER_PRIVATE_KEY) if one is set: the explicit choice of a small
deployment, reported as `shared` in /v1/info. A purpose with neither is off.

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
    """The local private key of `purpose`'s own wallet, or None."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown wallet purpose {purpose!r}")
    own: str | None = getattr(settings, f"{purpose}_private_key")
    return own


def spec_for(settings: Settings, purpose: str) -> tuple[str, str | None] | None:
    """`purpose`'s own wallet as (signer spec, private key): ("kms:<id>", None) for a KMS key,
    ("key", <key>) for a local one; None when it has none (the shared wallet pays for it).

    The one lookup of a purpose's key.
    """
    key = key_for(settings, purpose)
    kms: str | None = getattr(settings, f"{purpose}_signer")
    if kms is not None:
        return kms, None
    return ("key", key) if key else None


def lane_specs(settings: Settings) -> dict[str, list[str]]:
    """The KMS specs each purpose's lane signs with: its own key, the shared key if it is the
    first purpose the shared key pays for, and the retiring keys assigned to it (unassigned
    ones ride in the anchor lane). What a lane's role may `kms:Sign` with in AWS."""
    from chalicelib.core.settings import retiring_lane

    by_purpose = {p: (spec_for(settings, p) or (settings.signer, None))[0] for p in PURPOSES}
    out: dict[str, list[str]] = {p: [] for p in PURPOSES}
    for purpose, spec in by_purpose.items():
        first = next(p for p in PURPOSES if by_purpose[p] == spec)
        if spec and spec.startswith("kms:") and first == purpose:
            out[purpose].append(spec)
    for entry in settings.retiring_signers:
        lane, spec = retiring_lane(entry)
        out[lane or ANCHOR].append(spec)
    return out


def make_signer(secret: str) -> Signer:
    """A local private key's signer (the default builder; the runtime also builds KMS ones)."""
    from chalicelib.core.signer import LocalKeySigner

    return LocalKeySigner(secret)


def _local_only(spec: str, key: str | None) -> Signer:
    if spec != "key" or key is None:
        raise ValueError("this Wallets was built without a KMS signer builder")
    return make_signer(key)


class Wallets:
    """The signers by purpose, built on first use (eth_account is imported only then)."""

    def __init__(
        self,
        settings: Settings,
        shared: Callable[[], Signer | None],
        build: Callable[[str, str | None], Signer] = _local_only,
    ) -> None:
        self.settings = settings
        self.shared = shared  # the shared wallet (SIGNER: a local key or a KMS key), or None
        self.build = build  # (spec, private key) -> signer: the runtime's, which knows KMS
        self._by_spec: dict[tuple[str, str | None], Signer] = {}
        self._lock = threading.Lock()

    def signer(self, purpose: str) -> Signer | None:
        own = spec_for(self.settings, purpose)
        if own is None:
            return self.shared()
        with self._lock:
            if own not in self._by_spec:
                self._by_spec[own] = self.build(*own)
            return self._by_spec[own]

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
