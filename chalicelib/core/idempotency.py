"""`Idempotency-Key`: the identity of a request that creates or pays, fixed before its first write.

Every POST that creates something or pays accepts an optional `Idempotency-Key` header (1..128
printable ASCII characters). A request's identity (`RequestIdentity`) names everything it will
create before anything is written, and every retry of the write reuses those names:

- with a key, the ids are derived from it (`derive`): a client's retry, even a concurrent one,
  names the same drip, event, batch or payout, whose creation is conditional (if absent), so it
  finds the first request's result and answers it (`Idempotent-Replayed: true`) instead of making
  a second one. The first request's body digest is kept with what it created: the same key with
  another body is a 409 `idempotency_key_conflict`.
- without a key, the ids are random but drawn once per request, so the request's own retries
  (store.transact's resolution of a lost answer) still find what it wrote.

Where the answer cannot be derived from what was created (a message's seq), a flow remembers it
in an item of its own, in the same transaction (`remember_op`, `lookup`, `replay`):

  <namespace>#<sha256 of the key> / key      body_sha256, response fields, created_at
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from chalicelib.core.errors import BadRequest, Conflict
from chalicelib.core.store import Item, Key, Op, WriteUnresolved, key, put_op

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY = 128
KEY_RE = re.compile(r"^[\x20-\x7e]{1,128}$")  # printable ASCII, MAX_KEY of them
OP_NAME = "idempotency"
DIGEST_FIELD = "request_sha256"


class IdempotencyKeyConflict(Conflict):
    """The idempotency key was already used by a request with another body."""

    code = "idempotency_key_conflict"


def parse_key(raw: str | None) -> str | None:
    """The header's value, or None when absent; 400 when present but not 1..128 printable."""
    if raw is None:
        return None
    if not KEY_RE.match(raw):
        raise BadRequest(
            f"{HEADER} must be 1..{MAX_KEY} printable ASCII characters",
            code="invalid_idempotency_key",
        )
    return raw


def body_digest(body: Mapping[str, Any]) -> str:
    """sha256 of the body as a JSON value: key order and whitespace do not make it another body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class RequestIdentity:
    """Who a request is, for the writes it makes: its scope, its key (if any), its body."""

    scope: str
    key: str | None
    digest: str

    @property
    def keyed(self) -> bool:
        return self.key is not None

    def derive(self, prefix: str, hex_chars: int, part: str = "") -> str:
        """An id for what this request creates: the key's, or fresh random (drawn once)."""
        if self.key is None:
            return prefix + secrets.token_hex((hex_chars + 1) // 2)[:hex_chars]
        material = "\0".join((self.scope, self.key, prefix, part)).encode()
        return prefix + hashlib.sha256(material).hexdigest()[:hex_chars]

    def check(self, recorded: Mapping[str, Any], what: str) -> None:
        """A replay must carry the first request's body; 409 naming what the key made if not."""
        if recorded.get(DIGEST_FIELD) not in (None, self.digest):
            raise IdempotencyKeyConflict(
                f"this {HEADER} was already used with another body",
                details={what: recorded.get("id")},
            )

    def stamp(self) -> dict[str, str]:
        """The field recording the body on what the request creates (nothing without a key)."""
        return {DIGEST_FIELD: self.digest} if self.key is not None else {}

    @contextmanager
    def unresolved(self) -> Iterator[None]:
        """A write that may have committed is retry-safe only if a retry can find it."""
        try:
            yield
        except WriteUnresolved as exc:
            if self.key is None:
                raise WriteUnresolved(
                    f"the store did not confirm the write; retry with an {HEADER} header to make "
                    "a repeat safe",
                    retry_safe=False,
                ) from exc
            raise


def identity(scope: str, raw_key: str | None, body: Mapping[str, Any]) -> RequestIdentity:
    idem_key = parse_key(raw_key)
    return RequestIdentity(scope, idem_key, body_digest(body) if idem_key is not None else "")


def replayed_headers(replayed: bool) -> dict[str, str] | None:
    return {REPLAYED_HEADER: "true"} if replayed else None


# -- remembered answers ---------------------------------------------------------------------


def item_key(namespace: str, idem_key: str) -> Key:
    """The key is hashed into the item key, so any printable text is safe there."""
    return key(f"{namespace}#{hashlib.sha256(idem_key.encode()).hexdigest()}", "key")


def remember_op(
    namespace: str, idem_key: str, digest: str, answer: Mapping[str, Any], now: int,
    extra: Mapping[str, Any] | None = None,
) -> Op:
    """The transaction item that binds the key to what is being created (if absent)."""
    item = {**item_key(namespace, idem_key), **(extra or {}), "body_sha256": digest,
            **answer, "created_at": now}
    return put_op(item, if_absent=True, name=OP_NAME)


def lookup(store: Any, namespace: str, idem_key: str) -> Item | None:
    found: Item | None = store.get(**item_key(namespace, idem_key))
    return found


def replay(remembered: Item, digest: str, fields: tuple[str, ...], what: str) -> dict[str, Any]:
    """The first request's answer; 409 if this request's body is not the first one's."""
    if remembered["body_sha256"] != digest:
        raise IdempotencyKeyConflict(
            f"this {HEADER} was already used with another body",
            details={what: remembered[what]},
        )
    return {name: remembered[name] for name in fields}
