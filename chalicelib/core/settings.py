"""Settings from environment variables, validated once, with messages that name the variable.

Secrets (the signer key, the admin token) are held here but never printed: `Settings.__repr__`
hides them, and no error message quotes their values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

from chalicelib.core.errors import SettingsError

ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
KEY_RE = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
SECRET_FIELDS = {"signer_private_key", "admin_token"}


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    table_name: str = "settlekit-local"
    aws_region: str = "us-east-1"
    dynamodb_endpoint_url: str | None = None
    chain_rpc_url: str | None = None
    chain_id: int = 31337
    confirmations: int = 2
    rpc_timeout_seconds: float = 5.0
    signer_private_key: str | None = None
    native_symbol: str = "ETH"
    token_symbol: str = "SKT"
    token_address: str | None = None
    token_decimals: int = 18
    admin_token: str | None = None
    max_body_bytes: int = 64 * 1024
    # Payout engine: how long a broadcast may wait for a receipt before we act on it.
    payout_rebroadcast_seconds: int = 60
    # A replacement raises both fee fields by this percentage (the node requires >= 10%).
    payout_fee_bump_percent: int = 25
    # Never pay more than this per gas for a payout; past it a human must decide.
    payout_max_fee_wei: int = 500 * 10**9
    # Lambda deadline safety margin for jobs.
    job_margin_ms: int = 5_000
    lease_ttl_ms: int = 60_000

    def __repr__(self) -> str:  # never print secrets
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                value = "***"
            shown.append(f"{f.name}={value!r}")
        return "Settings(" + ", ".join(shown) + ")"

    @property
    def chain_enabled(self) -> bool:
        return bool(self.chain_rpc_url)

    @property
    def admin_enabled(self) -> bool:
        return bool(self.admin_token)


def _text(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    value = env.get(name)
    if value is None:
        return default
    value = value.strip()
    return value or default


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = _text(env, name, None)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = _text(env, name, None)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _address(env: Mapping[str, str], name: str) -> str | None:
    raw = _text(env, name, None)
    if raw is not None and not ADDRESS_RE.match(raw):
        raise SettingsError(f"{name} must be a 0x-prefixed 20-byte hex address")
    return raw


def _url(env: Mapping[str, str], name: str) -> str | None:
    raw = _text(env, name, None)
    if raw is not None and not raw.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http(s) URL")
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise SettingsError naming the first bad one."""
    env = os.environ if env is None else env
    key = _text(env, "SIGNER_PRIVATE_KEY", None)
    if key is not None and not KEY_RE.match(key):
        # The value is a secret: say what is wrong without echoing it.
        raise SettingsError("SIGNER_PRIVATE_KEY must be 32 bytes of hex (64 hex digits)")
    admin = _text(env, "ADMIN_TOKEN", None)
    if admin is not None and len(admin) < 16:
        raise SettingsError("ADMIN_TOKEN must be at least 16 characters when set")
    stage = _text(env, "STAGE", "local") or "local"
    if not re.match(r"^[a-z][a-z0-9-]{0,31}$", stage):
        raise SettingsError("STAGE must be lower-case letters, digits or dashes")
    return Settings(
        stage=stage,
        table_name=_text(env, "TABLE_NAME", f"settlekit-{stage}") or "",
        aws_region=_text(env, "AWS_REGION", _text(env, "AWS_DEFAULT_REGION", "us-east-1"))
        or "us-east-1",
        dynamodb_endpoint_url=_url(env, "DYNAMODB_ENDPOINT_URL"),
        chain_rpc_url=_url(env, "CHAIN_RPC_URL"),
        chain_id=_int(env, "CHAIN_ID", 31337, 1, 2**53),
        confirmations=_int(env, "CONFIRMATIONS", 2, 0, 1000),
        rpc_timeout_seconds=_float(env, "RPC_TIMEOUT_SECONDS", 5.0, 0.1, 60.0),
        signer_private_key=key,
        native_symbol=_text(env, "NATIVE_SYMBOL", "ETH") or "ETH",
        token_symbol=_text(env, "TOKEN_SYMBOL", "SKT") or "SKT",
        token_address=_address(env, "TOKEN_ADDRESS"),
        token_decimals=_int(env, "TOKEN_DECIMALS", 18, 0, 36),
        admin_token=admin,
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 64 * 1024, 1024, 6 * 1024 * 1024),
        payout_rebroadcast_seconds=_int(env, "PAYOUT_REBROADCAST_SECONDS", 60, 1, 86_400),
        payout_fee_bump_percent=_int(env, "PAYOUT_FEE_BUMP_PERCENT", 25, 13, 500),
        payout_max_fee_wei=_int(env, "PAYOUT_MAX_FEE_WEI", 500 * 10**9, 1, 10**24),
        job_margin_ms=_int(env, "JOB_MARGIN_MS", 5_000, 0, 600_000),
        lease_ttl_ms=_int(env, "LEASE_TTL_MS", 60_000, 1_000, 900_000),
    )
