"""Which wallets the faucet pays: a valid EVM address, not blocked, and allowed for drips.

The blocklist applies to every payout the faucet makes (drips and event claims); the allowlist
restricts the open drip endpoint only, since an event code is already its holder's credential.
Lists are compared case-insensitively; the returned address is EIP-55 checksummed.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.addresses import normalize_address
from chalicelib.core.errors import BadRequest
from chalicelib.core.settings import Settings


def claim_wallet(settings: Settings, value: Any) -> str:
    wallet = normalize_address(value, field="wallet")
    if wallet.lower() in settings.wallet_blocklist:
        raise BadRequest("this wallet cannot receive faucet payouts", code="wallet_blocked")
    return wallet


def drip_wallet(settings: Settings, value: Any) -> str:
    wallet = claim_wallet(settings, value)
    if settings.wallet_allowlist and wallet.lower() not in settings.wallet_allowlist:
        raise BadRequest("this wallet is not on the faucet's allowlist", code="wallet_not_allowed")
    return wallet
