"""The faucet's configured asset and amounts, turned into base units once per request."""

from __future__ import annotations

from chalicelib.core.assets import NATIVE, resolve_asset
from chalicelib.core.errors import BadRequest, NotFound, SettingsError
from chalicelib.core.money import parse_amount
from chalicelib.core.settings import Settings


def faucet_asset_name(settings: Settings) -> str | None:
    """FAUCET_ASSET, or the community token when one is configured."""
    if settings.faucet_asset:
        return settings.faucet_asset
    return settings.token_symbol if settings.token_address else None


def faucet_asset(settings: Settings) -> tuple[str, int]:
    """(asset id, decimals) the faucet pays; 404 `faucet_disabled` when there is none."""
    name = faucet_asset_name(settings)
    if name is None:
        raise NotFound("the faucet is not configured on this deployment", code="faucet_disabled")
    try:
        return resolve_asset(settings, name)
    except BadRequest:
        raise SettingsError("FAUCET_ASSET must be native or the configured token") from None


def setting_units(value: str, decimals: int, name: str) -> int:
    """A decimal setting (already syntax-checked at start-up) in base units of an asset."""
    try:
        return parse_amount(value, decimals, field=name)
    except BadRequest:
        raise SettingsError(f"{name} has more decimal places than the asset allows") from None


def drip_units(settings: Settings) -> tuple[str, int, int]:
    """(asset id, decimals, drip amount in base units); 404 when drips are switched off."""
    asset, decimals = faucet_asset(settings)
    if settings.drip_max_requests == 0:
        raise NotFound("drips are switched off on this deployment", code="faucet_disabled")
    return asset, decimals, setting_units(settings.drip_amount, decimals, "DRIP_AMOUNT")


def symbol_of(settings: Settings, asset: str) -> str:
    if asset == NATIVE:
        return settings.native_symbol
    if settings.token_address and asset.lower() == settings.token_address.lower():
        return settings.token_symbol
    return asset
