"""The assets the service pays and accepts: the chain's native coin and the configured token."""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.settings import Settings

NATIVE = "native"
NATIVE_DECIMALS = 18


def resolve_asset(settings: Settings, asset: Any) -> tuple[str, int]:
    """An asset named by symbol, "native" or token address -> (asset id, decimals)."""
    if not isinstance(asset, str):
        raise BadRequest("asset must be a string", code="invalid_asset")
    name = asset.strip().lower()
    if name in (NATIVE, settings.native_symbol.lower()):
        return NATIVE, NATIVE_DECIMALS
    token = settings.token_address
    if token and name in (settings.token_symbol.lower(), token.lower()):
        return token, settings.token_decimals
    raise BadRequest("asset must be native or a token listed in /v1/info", code="invalid_asset")
