"""Secrets from SSM Parameter Store, named by stage, read once per container.

In AWS the admin token and the RPC URL (which often embeds a provider's key) live in SSM as
SecureString parameters `/settlekit/<stage>/admin-token` and `/settlekit/<stage>/rpc-url`; the
non-secret addresses may live there too (plain String). `SECRETS_FROM=ssm` (set by the AWS stages
in .chalice/config.json) turns this on; locally everything comes from the environment. A missing
or malformed parameter fails the cold start with an error naming the parameter, never its value.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.core.errors import SettingsError
from chalicelib.core.settings import Settings, load_settings

SSM_CONNECT_TIMEOUT_S = 2
SSM_READ_TIMEOUT_S = 5


@dataclass(frozen=True)
class Parameter:
    name: str  # under the stage's prefix
    env: str  # the setting it provides
    secret: bool  # must be a SecureString
    required: bool


PARAMETERS = (
    Parameter("admin-token", "ADMIN_TOKEN", secret=True, required=True),
    Parameter("rpc-url", "CHAIN_RPC_URL", secret=True, required=True),
    Parameter("token-address", "TOKEN_ADDRESS", secret=False, required=False),
    Parameter("anchor-registry-address", "ANCHOR_REGISTRY_ADDRESS", secret=False, required=False),
)

_cache: dict[str, dict[str, str]] = {}
_lock = threading.Lock()


def prefix_for(env: Mapping[str, str]) -> str:
    stage = (env.get("STAGE") or "local").strip()
    return (env.get("SECRETS_PREFIX") or f"/settlekit/{stage}").rstrip("/")


def parameter_names(prefix: str) -> list[str]:
    return [f"{prefix}/{p.name}" for p in PARAMETERS]


def fetch(ssm: Any, prefix: str) -> dict[str, str]:
    """Read the stage's parameters in one call -> environment-style values; check their shape."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = ssm.get_parameters(Names=parameter_names(prefix), WithDecryption=True)
    except (ClientError, BotoCoreError) as exc:
        raise SettingsError(
            f"cannot read SSM parameters under {prefix}/: {type(exc).__name__}"
        ) from exc
    found = {p["Name"]: p for p in answer.get("Parameters", [])}
    values: dict[str, str] = {}
    for p in PARAMETERS:
        name = f"{prefix}/{p.name}"
        item = found.get(name)
        if item is None:
            if p.required:
                raise SettingsError(f"SSM parameter {name} is missing (put it, then redeploy)")
            continue
        if p.secret and item.get("Type") != "SecureString":
            raise SettingsError(f"SSM parameter {name} must be a SecureString")
        value = str(item.get("Value", "")).strip()
        if not value:
            raise SettingsError(f"SSM parameter {name} is empty")
        values[p.env] = value
    return values


def load(env: Mapping[str, str] | None = None, ssm: Any = None) -> Settings:
    """Settings from the environment plus, when SECRETS_FROM=ssm, the stage's parameters.

    Parameters are fetched once per container (per prefix); a bad value's error names the
    parameter it came from.
    """
    env = os.environ if env is None else env
    if (env.get("SECRETS_FROM") or "").strip().lower() != "ssm":
        return load_settings(env)
    prefix = prefix_for(env)
    with _lock:
        values = _cache.get(prefix)
        if values is None:
            values = fetch(ssm or _ssm_client(env), prefix)
            _cache[prefix] = values
    merged = {**env, **values}
    try:
        return load_settings(merged)
    except SettingsError as exc:
        for p in PARAMETERS:
            if p.env in values and p.env in str(exc):
                raise SettingsError(f"SSM parameter {prefix}/{p.name}: {exc}") from None
        raise


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _ssm_client(env: Mapping[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.session.Session().client(
        "ssm",
        region_name=region,
        config=Config(connect_timeout=SSM_CONNECT_TIMEOUT_S, read_timeout=SSM_READ_TIMEOUT_S),
    )
