"""Which wallet a payout may come from: the purpose each owner type is allowed to spend.

Every payout names its purpose (`escrow`, `faucet`, `anchor`), and the purpose names exactly one
wallet (chalicelib/core/wallets.py). Flows register, at import, the purposes their owner types
may use; creating an intent checks it, so a flow cannot have a payout sent from another
purpose's wallet by mistake or by convention: the engine refuses it, and the sender signs a
payout only with its purpose's wallet.
"""

from __future__ import annotations

from chalicelib.core.errors import ServiceError
from chalicelib.core.wallets import PURPOSES

_ALLOWED: dict[str, frozenset[str]] = {}


class WrongWallet(ServiceError):
    """A payout asked for a wallet its owner may not spend from (a bug in the flow)."""

    code = "wrong_wallet"
    status = 500


def register_owner(owner_type: str, *purposes: str) -> None:
    """Let payouts owned by `owner_type` be paid from the wallets of `purposes`."""
    unknown = [p for p in purposes if p not in PURPOSES]
    if unknown or not purposes:
        raise ValueError(f"unknown wallet purposes {unknown!r}")
    _ALLOWED[owner_type] = frozenset(purposes)


def check(owner_type: str, purpose: str) -> None:
    """Refuse a payout whose purpose (so its wallet) is not one its owner may spend."""
    allowed = _ALLOWED.get(owner_type)
    if purpose not in PURPOSES or allowed is None or purpose not in allowed:
        raise WrongWallet(
            f"payouts of {owner_type!r} may not be paid from the {purpose!r} wallet",
            details={"owner_type": owner_type, "purpose": purpose},
        )
