"""Settings from environment variables, validated once, with messages that name the variable.

Secrets (the signer key, the admin token) are held here but never printed: `Settings.__repr__`
hides them, and no error message quotes their values.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from chalicelib.core.errors import SettingsError

ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
KEY_RE = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
SECRET_FIELDS = {
    "signer_private_key",
    "retiring_signer_private_keys",
    "escrow_private_key",
    "faucet_private_key",
    "anchor_private_key",
    "admin_token",
}
# The wallets by purpose and the setting holding each one's key (see chalicelib/core/wallets.py).
PURPOSE_KEY_SETTINGS = {
    "escrow": "ESCROW_PRIVATE_KEY",
    "faucet": "FAUCET_PRIVATE_KEY",
    "anchor": "ANCHOR_PRIVATE_KEY",
}
# The same wallets held as KMS keys (AWS): `kms:<key id, alias or ARN>` per purpose.
PURPOSE_SIGNER_SETTINGS = {
    "escrow": "ESCROW_SIGNER",
    "faucet": "FAUCET_SIGNER",
    "anchor": "ANCHOR_SIGNER",
}


def derived_salt(stage: str, table_name: str) -> str:
    """The deployment salt when none is set: each stage and table (deployment) gets its own."""
    return "0x" + hashlib.sha256(f"settlekit-deployment:{stage}:{table_name}".encode()).hexdigest()


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
    # The shared wallet: pays for every purpose that has no key of its own (small deployments).
    signer_private_key: str | None = None
    # One wallet per purpose: OTC escrow, faucet drips and claims, anchor transactions.
    escrow_private_key: str | None = None
    faucet_private_key: str | None = None
    anchor_private_key: str | None = None
    # Each purpose's own KMS key (`kms:<key id, alias or ARN>`), the AWS form of the keys above.
    # Stages other than local default to `kms:alias/settlekit-<stage>-<purpose>` unless a shared
    # wallet is set explicitly (SIGNER or SIGNER_PRIVATE_KEY): then purposes without a signer of
    # their own share it.
    escrow_signer: str | None = None
    faucet_signer: str | None = None
    anchor_signer: str | None = None
    # Keys being rotated out: they take no new payouts, only drain the ones they already signed
    # (rebroadcast, replace, cancel, fill their nonce gaps) until none is left. Each is
    # optionally prefixed by the purpose it served (`escrow=<key>`): that purpose's lane drains
    # it, and only a wallet that served escrow (named so, or unnamed: a shared wallet) can have
    # a stray OTC deposit refunded. Without a prefix, the anchor lane drains it.
    retiring_signer_private_keys: tuple[str, ...] = ()
    # The same for KMS keys: `[purpose=]kms:<key id or alias>` specs (see `signer` below).
    retiring_signers: tuple[str, ...] = ()
    # A payout stays watched after `confirmed` until the chain's `finalized` block passes it, or
    # this many confirmations where the node has no finalized tag.
    finality_depth: int = 64
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
    # Faucet and event claim codes (see _faucet_settings): the asset drips and events pay (None:
    # the community token), the drip size, and the sliding rate-limit window per wallet and IP.
    faucet_asset: str | None = None
    drip_amount: str = "10"
    drip_max_requests: int = 1
    drip_window_seconds: int = 86_400
    # How many proxies we control append to X-Forwarded-For in front of API Gateway (0: ignore
    # the header and use API Gateway's source IP).
    trust_proxy_headers: int = 0
    wallet_allowlist: frozenset[str] = frozenset()
    wallet_blocklist: frozenset[str] = frozenset()
    events_enabled: bool = False
    event_max_amount: str = "1000"
    event_max_horizon_days: int = 90
    claim_invalid_max_attempts: int = 10
    claim_invalid_window_seconds: int = 600
    # Bounties: how long after expiry the poster may still accept winners, and how long after the
    # last accept the winners' payments may still be recorded.
    bounty_accept_grace_days: int = 14
    bounty_pay_grace_days: int = 7
    # EIP-712 domain version of signed actions; bump it to invalidate every outstanding signature.
    signing_version: str = "1"
    # EIP-712 domain salt (0x + 32 bytes hex): binds signatures to this deployment, so one made
    # for staging is refused by production on the same chain. Public (GET /v1/typed-data).
    deployment_salt: str = derived_salt("local", "settlekit-local")
    # OTC: pairs as JSON (see chalicelib/otc/pairs.py); empty means the built-in defaults.
    otc_pairs: str | None = None
    # How long a matched external-pair order waits for the seller's confirm before refunding.
    otc_settlement_window_seconds: int = 24 * 3600
    # OTC create/match/cancel: at most this many per wallet and per client IP in each fixed
    # window (0 switches a limit off); they stop floods of on-chain deposit checks.
    otc_wallet_rate_max: int = 20
    otc_ip_rate_max: int = 60
    otc_rate_window_seconds: int = 60
    # A deposit must have been mined at most this long before the order or match it funds, so
    # an old transfer to the hot wallet (its funding, say) cannot be passed off as a deposit.
    otc_deposit_max_age_seconds: int = 3600
    # Anchoring: the AnchorRegistry contract (anchoring is off without it); a batch is claimed
    # once its oldest message waited this long or this many messages wait; a reverted anchor is
    # re-sent at most this many times in all before a human must look.
    anchor_registry_address: str | None = None
    anchor_max_age_seconds: int = 300
    anchor_max_batch: int = 1_000
    anchor_max_attempts: int = 3
    # The shared wallet (core/signer.py): `kms:<key id or alias>` or `key` (SIGNER_PRIVATE_KEY);
    # None: no shared wallet (each purpose has its own, or is off).
    signer: str | None = None
    # Only the payout engine's function signs in AWS (its role alone may call kms:Sign); the API
    # functions see the wallet's address but skip the sending jobs (the admin reconcile route).
    payout_signing: bool = True
    # Where every alert is also published (SNS); None: alerts are log lines only.
    alert_topic_arn: str | None = None
    # Web pages: origins allowed to call the API from another site (CORS; none by default), the
    # JSON-RPC URLs the pages may reach (the Content-Security-Policy's connect-src; the first is
    # the verifier's default; never CHAIN_RPC_URL itself, which may carry a provider key) and an
    # explorer's transaction URL with `{tx}` where the hash goes.
    web_allowed_origins: tuple[str, ...] = ()
    web_rpc_urls: tuple[str, ...] = ()
    explorer_tx_url: str | None = None

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


def _retiring(
    env: Mapping[str, str], name: str, valid: Callable[[str], bool], form: str
) -> tuple[str, ...]:
    """A comma-separated list of `[purpose=]<spec>` retiring entries, each spec `valid` (private
    keys among them: a refusal never echoes an entry)."""
    raw = _text(env, name, None)
    entries = tuple(x.strip() for x in (raw or "").split(",") if x.strip())
    for entry in entries:
        purpose, spec = retiring_lane(entry)
        if (purpose is not None and purpose not in PURPOSE_KEY_SETTINGS) or not valid(spec):
            raise SettingsError(f"{name} must be comma-separated [purpose=]{form}")
    return entries


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


def _signing_version(env: Mapping[str, str]) -> str:
    raw = _text(env, "SIGNING_VERSION", "1") or "1"
    if not re.match(r"^[0-9A-Za-z.-]{1,16}$", raw):
        raise SettingsError("SIGNING_VERSION must be 1-16 letters, digits, dots or dashes")
    return raw


SALT_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")


def _deployment_salt(env: Mapping[str, str], stage: str, table_name: str) -> str:
    """DEPLOYMENT_SALT, or one derived from the stage and table (which differ per deployment)."""
    raw = _text(env, "DEPLOYMENT_SALT", None)
    if raw is None:
        return derived_salt(stage, table_name)
    if not SALT_RE.match(raw):
        raise SettingsError("DEPLOYMENT_SALT must be 0x followed by 64 hex digits (32 bytes)")
    return raw.lower()


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (_text(env, name, None) or "").lower()
    if not raw:
        return default
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise SettingsError(f"{name} must be true or false")
    return raw in ("true", "1", "yes")


def _decimal(env: Mapping[str, str], name: str, default: str) -> str:
    raw = _text(env, name, default) or default
    valid = re.match(r"^(0|[1-9][0-9]{0,30})(\.[0-9]{1,36})?$", raw)
    if not valid or not re.search("[1-9]", raw):
        raise SettingsError(f"{name} must be a positive decimal number, e.g. 10 or 0.5")
    return raw


def _address_set(env: Mapping[str, str], name: str) -> frozenset[str]:
    parts = [p.strip() for p in (_text(env, name, "") or "").split(",") if p.strip()]
    if not all(ADDRESS_RE.match(p) for p in parts):
        raise SettingsError(f"{name} must be comma-separated 0x-prefixed 20-byte hex addresses")
    return frozenset(p.lower() for p in parts)


def _proxy_hops(env: Mapping[str, str]) -> int:
    raw = (_text(env, "TRUST_PROXY_HEADERS", None) or "false").lower()
    raw = {"false": "0", "no": "0", "true": "1", "yes": "1"}.get(raw, raw)
    if raw not in {"0", "1", "2", "3", "4", "5"}:
        raise SettingsError("TRUST_PROXY_HEADERS must be true, false or a number of proxies (0-5)")
    return int(raw)


def _faucet_settings(env: Mapping[str, str]) -> dict[str, object]:
    return {
        "faucet_asset": _text(env, "FAUCET_ASSET", None),
        "drip_amount": _decimal(env, "DRIP_AMOUNT", "10"),
        "drip_max_requests": _int(env, "DRIP_MAX_REQUESTS", 1, 0, 100),
        "drip_window_seconds": _int(env, "DRIP_WINDOW_SECONDS", 86_400, 1, 30 * 86_400),
        "trust_proxy_headers": _proxy_hops(env),
        "wallet_allowlist": _address_set(env, "WALLET_ALLOWLIST"),
        "wallet_blocklist": _address_set(env, "WALLET_BLOCKLIST"),
        "events_enabled": _flag(env, "EVENTS_ENABLED", False),
        "event_max_amount": _decimal(env, "EVENT_MAX_AMOUNT", "1000"),
        "event_max_horizon_days": _int(env, "EVENT_MAX_HORIZON_DAYS", 90, 1, 3650),
        "claim_invalid_max_attempts": _int(env, "CLAIM_INVALID_MAX_ATTEMPTS", 10, 1, 10_000),
        "claim_invalid_window_seconds": _int(
            env, "CLAIM_INVALID_WINDOW_SECONDS", 600, 1, 86_400
        ),
    }


def _key(env: Mapping[str, str], name: str) -> str | None:
    key = _text(env, name, None)
    if key is not None and not KEY_RE.match(key):
        # The value is a secret: say what is wrong without echoing it.
        raise SettingsError(f"{name} must be 32 bytes of hex (64 hex digits)")
    return key


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    parts = [p.strip().rstrip("/") for p in (_text(env, name, "") or "").split(",") if p.strip()]
    for part in parts:
        if not re.match(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", part):
            raise SettingsError(f"{name} must be comma-separated origins like https://example.org")
    return tuple(parts)


def _url_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    parts = [p.strip() for p in (_text(env, name, "") or "").split(",") if p.strip()]
    # No quotes, spaces or semicolons: each URL goes verbatim into a CSP header.
    if not all(re.match(r"^https?://[A-Za-z0-9._~:/?#@!$&()*+=%-]+$", p) for p in parts):
        raise SettingsError(f"{name} must be comma-separated http(s) URLs")
    return tuple(parts)


def _web_settings(env: Mapping[str, str]) -> dict[str, object]:
    explorer = _url(env, "EXPLORER_TX_URL")
    if explorer is not None and "{tx}" not in explorer:
        raise SettingsError("EXPLORER_TX_URL must contain {tx} where the transaction hash goes")
    return {
        "web_allowed_origins": _origins(env, "WEB_ALLOWED_ORIGINS"),
        "web_rpc_urls": _url_list(env, "WEB_RPC_URLS"),
        "explorer_tx_url": explorer,
    }


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise SettingsError naming the first bad one."""
    env = os.environ if env is None else env
    key = _key(env, "SIGNER_PRIVATE_KEY")
    purpose_keys = {
        f"{purpose}_private_key": _key(env, name) for purpose, name in PURPOSE_KEY_SETTINGS.items()
    }
    retiring = _retiring(env, "RETIRING_SIGNER_PRIVATE_KEYS", lambda k: bool(KEY_RE.match(k)),
                         "<32-byte hex key>")
    shared = _signer(env, key)
    admin = _text(env, "ADMIN_TOKEN", None)
    if admin is not None and len(admin) < 16:
        raise SettingsError("ADMIN_TOKEN must be at least 16 characters when set")
    stage = _text(env, "STAGE", "local") or "local"
    if not re.match(r"^[a-z][a-z0-9-]{0,31}$", stage):
        raise SettingsError("STAGE must be lower-case letters, digits or dashes")
    table_name = _text(env, "TABLE_NAME", f"settlekit-{stage}") or ""
    return Settings(
        stage=stage,
        table_name=table_name,
        aws_region=_text(env, "AWS_REGION", _text(env, "AWS_DEFAULT_REGION", "us-east-1"))
        or "us-east-1",
        dynamodb_endpoint_url=_url(env, "DYNAMODB_ENDPOINT_URL"),
        chain_rpc_url=_url(env, "CHAIN_RPC_URL"),
        chain_id=_int(env, "CHAIN_ID", 31337, 1, 2**53),
        confirmations=_int(env, "CONFIRMATIONS", 2, 0, 1000),
        rpc_timeout_seconds=_float(env, "RPC_TIMEOUT_SECONDS", 5.0, 0.1, 60.0),
        signer_private_key=key,
        **purpose_keys,  # type: ignore[arg-type]
        **_purpose_signers(env, stage, shared, purpose_keys),  # type: ignore[arg-type]
        retiring_signer_private_keys=retiring,
        retiring_signers=_retiring(
            env, "RETIRING_SIGNERS",
            lambda spec: spec.startswith("kms:") and bool(SIGNER_RE.match(spec)),
            "kms:<key id or alias>",
        ),
        finality_depth=_int(env, "FINALITY_DEPTH", 64, 1, 10_000),
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
        **_faucet_settings(env),  # type: ignore[arg-type]
        bounty_accept_grace_days=_int(env, "BOUNTY_ACCEPT_GRACE_DAYS", 14, 0, 365),
        bounty_pay_grace_days=_int(env, "BOUNTY_PAY_GRACE_DAYS", 7, 1, 365),
        signing_version=_signing_version(env),
        deployment_salt=_deployment_salt(env, stage, table_name),
        otc_pairs=_text(env, "OTC_PAIRS", None),
        otc_settlement_window_seconds=_int(
            env, "OTC_SETTLEMENT_WINDOW_SECONDS", 24 * 3600, 60, 30 * 86_400
        ),
        otc_wallet_rate_max=_int(env, "OTC_WALLET_RATE_MAX", 20, 0, 1_000_000),
        otc_ip_rate_max=_int(env, "OTC_IP_RATE_MAX", 60, 0, 1_000_000),
        otc_rate_window_seconds=_int(env, "OTC_RATE_WINDOW_SECONDS", 60, 1, 86_400),
        otc_deposit_max_age_seconds=_int(env, "OTC_DEPOSIT_MAX_AGE_SECONDS", 3600, 60, 7 * 86_400),
        anchor_registry_address=_address(env, "ANCHOR_REGISTRY_ADDRESS"),
        anchor_max_age_seconds=_int(env, "ANCHOR_MAX_AGE_SECONDS", 300, 0, 86_400),
        anchor_max_batch=_int(env, "ANCHOR_MAX_BATCH", 1_000, 1, 10_000),
        anchor_max_attempts=_int(env, "ANCHOR_MAX_ATTEMPTS", 3, 1, 20),
        signer=shared,
        payout_signing=_flag(env, "PAYOUT_SIGNING", True),
        alert_topic_arn=_topic_arn(env),
        **_web_settings(env),  # type: ignore[arg-type]
    )


SIGNER_RE = re.compile(r"^(key|kms:[A-Za-z0-9:/_.-]{1,256})$")
TOPIC_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")


def default_kms_alias(stage: str, purpose: str) -> str:
    """The alias a stage's purpose wallet is looked up by when no signer is set for it."""
    return f"alias/settlekit-{stage}-{purpose}"


def _signer(env: Mapping[str, str], key: str | None) -> str | None:
    """The shared wallet's spec: explicit SIGNER, else the plain key if given, else none."""
    raw = _text(env, "SIGNER", None)
    if raw is None:
        return "key" if key is not None else None
    if not SIGNER_RE.match(raw):
        raise SettingsError("SIGNER must be kms:<key id, alias or ARN> or key")
    if raw == "key" and key is None:
        raise SettingsError("SIGNER=key needs SIGNER_PRIVATE_KEY")
    return raw


def _purpose_signers(
    env: Mapping[str, str], stage: str, shared: str | None, keys: Mapping[str, str | None]
) -> dict[str, str | None]:
    """Each purpose's own KMS spec: set, or by default (outside local, without a shared wallet)
    the stage's alias for that purpose."""
    out: dict[str, str | None] = {}
    for purpose, name in PURPOSE_SIGNER_SETTINGS.items():
        raw = _text(env, name, None)
        own_key = keys[f"{purpose}_private_key"]
        if raw is not None:
            if not (raw.startswith("kms:") and SIGNER_RE.match(raw)):
                raise SettingsError(f"{name} must be kms:<key id, alias or ARN>")
            if own_key is not None:
                raise SettingsError(f"set {name} or {PURPOSE_KEY_SETTINGS[purpose]}, not both")
        elif stage != "local" and shared is None and own_key is None:
            raw = f"kms:{default_kms_alias(stage, purpose)}"
        out[f"{purpose}_signer"] = raw
    return out


def retiring_lane(entry: str) -> tuple[str | None, str]:
    """A retiring entry (`[purpose=]kms:...` or `[purpose=]<key>`) -> (the purpose it served,
    whose lane drains it, or None; its kms: spec or key)."""
    purpose, sep, spec = entry.partition("=")
    return (purpose, spec) if sep else (None, entry)


def _topic_arn(env: Mapping[str, str]) -> str | None:
    raw = _text(env, "ALERT_TOPIC_ARN", None)
    if raw is not None and not TOPIC_ARN_RE.match(raw):
        raise SettingsError("ALERT_TOPIC_ARN must be an SNS topic ARN")
    return raw
