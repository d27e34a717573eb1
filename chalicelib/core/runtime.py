"""Composition root: the one place that builds clients (boto3, web3) and hands them out.

Everything is built lazily on first use, so importing the app has no side effects and a route
that does not touch the chain never imports web3. Tests install their own Runtime with
`set_runtime` (a fixed clock, a moto-backed client, a local chain node).
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.core import parameters
from chalicelib.core.clock import Clock
from chalicelib.core.settings import Settings
from chalicelib.core.store import DynamoStore
from chalicelib.core.wallets import ANCHOR, FAUCET, PURPOSES, Wallets

if TYPE_CHECKING:
    from chalicelib.core.chain import Web3Chain
    from chalicelib.core.signer import HotSigner

# KMS: a Sign call answers in tens of ms; a slow one must not eat the payout engine's run.
KMS_CONNECT_TIMEOUT_S = 2
KMS_READ_TIMEOUT_S = 5
KMS_MAX_ATTEMPTS = 3

# Short timeouts and few retries: a Lambda must answer before API Gateway's 29 s limit, and a
# job must notice a dead store long before its own deadline.
DYNAMODB_CONNECT_TIMEOUT_S = 2
DYNAMODB_READ_TIMEOUT_S = 5
DYNAMODB_MAX_ATTEMPTS = 3
# Writes get no botocore retries at all: after a read timeout botocore would send the identical
# write again, and a write that had committed then fails on its own condition (or, unconditional,
# applies twice). The store resolves an ambiguous write itself (store.transact, commits.py) and
# re-sends throttled writes, which applied nothing.
WRITE_RETRIES = {"total_max_attempts": 1}


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        dynamodb_client: Any = None,
        kms_client: Any = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self._dynamodb_client = dynamodb_client
        self._kms_client = kms_client
        self._lock = threading.Lock()
        # What a warm container remembers between scheduled runs, only ever as a shortcut
        # (a cold container starts without it and does the full work).
        self.between_runs: dict[str, Any] = {}

    @cached_property
    def store(self) -> DynamoStore:
        with self._lock:
            if self._dynamodb_client is not None:
                return DynamoStore(self._dynamodb_client, self.settings.table_name)
            reads = self._build_dynamodb_client({"max_attempts": DYNAMODB_MAX_ATTEMPTS})
            # total_max_attempts counts the first send: 1 means never re-sent by botocore.
            writes = self._build_dynamodb_client(WRITE_RETRIES)
        return DynamoStore(reads, self.settings.table_name, write_client=writes)

    def _build_dynamodb_client(self, retries: dict[str, int]) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "dynamodb",
            region_name=self.settings.aws_region,
            endpoint_url=self.settings.dynamodb_endpoint_url,
            config=Config(
                connect_timeout=DYNAMODB_CONNECT_TIMEOUT_S,
                read_timeout=DYNAMODB_READ_TIMEOUT_S,
                retries={**retries, "mode": "standard"},
                max_pool_connections=50,
            ),
        )

    @cached_property
    def chain(self) -> Web3Chain | None:
        """The chain adapter, or None when no CHAIN_RPC_URL is configured."""
        if not self.settings.chain_enabled:
            return None
        from chalicelib.core.chain import Web3Chain

        assert self.settings.chain_rpc_url
        return Web3Chain(
            self.settings.chain_rpc_url,
            self.settings.chain_id,
            timeout=self.settings.rpc_timeout_seconds,
        )

    @cached_property
    def signer(self) -> HotSigner | None:
        """The shared wallet (a local key or a KMS key, per SIGNER), or None when none is set.

        It pays for every purpose that has no key of its own (see chalicelib/core/wallets.py).
        """
        spec = self.settings.signer
        if spec is None:
            return None
        return self._build_signer(spec, self.settings.signer_private_key)

    @cached_property
    def retiring(self) -> list[tuple[str | None, HotSigner]]:
        """Wallets being rotated out (RETIRING_SIGNERS, RETIRING_SIGNER_PRIVATE_KEYS), each with
        the purpose its entry names (`escrow=...`) or None: they only drain the payouts they
        signed already, then are dropped from the settings. An active wallet is never one."""
        from chalicelib.core.settings import retiring_lane

        built: list[tuple[str | None, HotSigner]] = []
        for entry in self.settings.retiring_signers:
            purpose, spec = retiring_lane(entry)
            built.append((purpose, self._build_signer(spec, None)))
        for entry in self.settings.retiring_signer_private_keys:
            purpose, key = retiring_lane(entry)
            built.append((purpose, self._build_signer("key", key)))
        active = {w.address for w in self.wallets.signers()}  # every purpose's active wallet
        kept: list[tuple[str | None, HotSigner]] = []
        seen: set[str] = set()
        for purpose, s in built:
            if s.address not in active and s.address not in seen:
                seen.add(s.address)
                kept.append((purpose, s))
        return kept

    @cached_property
    def retiring_by_lane(self) -> dict[str, list[HotSigner]]:
        """The retiring wallets by the lane that drains them: the purpose their entry names, the
        anchor lane for the others."""
        kept: dict[str, list[HotSigner]] = {p: [] for p in PURPOSES}
        for purpose, s in self.retiring:
            kept[purpose or ANCHOR].append(s)
        return kept

    @property
    def retiring_signers(self) -> list[HotSigner]:
        """Every retiring wallet, whichever lane drains it."""
        return [s for _, s in self.retiring]

    def retiring_of(self, purpose: str) -> list[HotSigner]:
        """The retiring wallets that may have served `purpose`: named for it, or named for none
        (a shared wallet, or an entry written before entries named their purpose)."""
        return [s for named, s in self.retiring if named in (purpose, None)]

    def signer_for(self, address: str | None) -> HotSigner | None:
        """The signer of `address` if this deployment holds it (a payout is signed only by it)."""
        for s in self.signers:
            if address is not None and s.address.lower() == address.lower():
                return s
        return None

    def _build_signer(self, spec: str, private_key: str | None) -> HotSigner:
        from chalicelib.core.signer import build_signer

        kms = None
        if spec.startswith("kms:"):
            with self._lock:
                kms = self._kms_client or self._build_kms_client()
        return build_signer(spec, private_key, kms)

    def _build_kms_client(self) -> Any:
        import boto3
        from botocore.config import Config

        # AWS_ENDPOINT_URL_KMS (botocore reads it) points this at moto on the local stack.
        return boto3.session.Session().client(
            "kms",
            region_name=self.settings.aws_region,
            config=Config(
                connect_timeout=KMS_CONNECT_TIMEOUT_S,
                read_timeout=KMS_READ_TIMEOUT_S,
                retries={"max_attempts": KMS_MAX_ATTEMPTS, "mode": "standard"},
            ),
        )

    @cached_property
    def wallets(self) -> Wallets:
        """The wallets by purpose (escrow, faucet, anchor); see chalicelib/core/wallets.py."""
        return Wallets(self.settings, lambda: self.signer, self._build_signer)

    def wallet(self, purpose: str) -> HotSigner | None:
        """The active wallet that pays for `purpose`, or None when that purpose has no key."""
        return self.wallets.signer(purpose)

    @property
    def signers(self) -> list[HotSigner]:
        """Every wallet the engine works for: each purpose's active one, then retiring ones.

        The faucet's wallet comes last among the active ones: its lane is the one with bursts
        (a busy event), and running it last keeps a burst from holding up, within a tick, the
        escrow's settlements and the anchors.
        """
        active = sorted(
            self.wallets.signers(), key=lambda s: FAUCET in self.wallets.purposes_of(s.address)
        )
        return active + self.retiring_signers

    def is_active(self, address: str) -> bool:
        """Whether `address` is the active wallet of some purpose (it takes new intents)."""
        return any(s.address.lower() == address.lower() for s in self.wallets.signers())


_current: Runtime | None = None
_current_lock = threading.Lock()


def get_runtime() -> Runtime:
    global _current
    with _current_lock:
        if _current is None:
            _current = Runtime(parameters.load())
        return _current


def set_runtime(runtime: Runtime | None) -> None:
    """Install a runtime (tests, local tools); None makes the next call rebuild from env."""
    global _current
    with _current_lock:
        _current = runtime
