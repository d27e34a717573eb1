"""Service-level facts: health of the dependencies and the public info a client needs."""

from __future__ import annotations

from typing import Any

from chalicelib import VERSION
from chalicelib.core.errors import ServiceError
from chalicelib.core.runtime import Runtime
from chalicelib.core.wallets import ESCROW


def health(rt: Runtime) -> tuple[int, dict[str, Any]]:
    """(http status, body). A chain outage degrades health; a store outage makes it down."""
    store = _store_health(rt)
    chain = rt.chain.health() if rt.chain is not None else "disabled"
    if store != "ok":
        status, code = "down", 503
    elif chain not in ("ok", "disabled"):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return code, {"status": status, "version": VERSION, "store": store, "chain": chain}


def _store_health(rt: Runtime) -> str:
    try:
        rt.store.get("health", "health", consistent=False)
    except ServiceError as exc:
        return exc.code
    except Exception as exc:  # noqa: BLE001 - health reports, it never raises
        return f"error: {type(exc).__name__}"
    return "ok"


def info(rt: Runtime) -> dict[str, Any]:
    s = rt.settings
    assets: dict[str, Any] = {s.native_symbol: {"address": "native", "decimals": 18}}
    contracts: dict[str, str] = {}
    if s.token_address:
        assets[s.token_symbol] = {"address": s.token_address, "decimals": s.token_decimals}
        contracts["token"] = s.token_address
    if s.anchor_registry_address:
        contracts["anchor_registry"] = s.anchor_registry_address
    escrow = rt.wallet(ESCROW)
    from chalicelib.otc.pairs import load_pairs  # the OTC flow's; tradable only with an escrow

    pairs = [p.public() for p in load_pairs(s).values()] if escrow else []
    return {
        "version": VERSION,
        "chain_id": s.chain_id,
        "confirmations": s.confirmations,
        # Where OTC deposits go: the escrow wallet, which pays only OTC settlements and refunds.
        "escrow_address": escrow.address if escrow else None,
        # Each wallet once: its address, the purposes it pays for, and whether it is shared.
        "wallets": rt.wallets.public(),
        "assets": assets,
        "contracts": contracts,
        "pairs": pairs,
    }
