"""`Idempotency-Key` of `POST /v1/messages`: a client's retry gets the first answer, not a second
message.

  msgkey#<app_id>#<sha256 of the key> / key     message_id, seq, leaf_hash, sha256 of the body

The item is created (if absent) in the same transaction as the message and the seq counter, so a
key names at most one message, whatever the races. The app id is part of the item's key: two apps
may use the same key. The key itself is hashed into the item key, so any printable text is safe
there. A key is remembered for as long as the message is (messages are never removed, only their
fields), so a key is good for one message ever; TTL is not used.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from chalicelib.core.errors import BadRequest, Conflict
from chalicelib.core.store import DynamoStore, Item, Key, Op, key, put_op

HEADER = "Idempotency-Key"
MAX_KEY = 128
KEY_RE = re.compile(r"^[\x20-\x7e]{1,128}$")  # printable ASCII, MAX_KEY of them
OP_NAME = "idempotency"


class IdempotencyKeyConflict(Conflict):
    """The idempotency key already recorded a message from another request body."""

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


def item_key(app_id: str, idem_key: str) -> Key:
    return key(f"msgkey#{app_id}#{hashlib.sha256(idem_key.encode()).hexdigest()}", "key")


def lookup(store: DynamoStore, app_id: str, idem_key: str) -> Item | None:
    return store.get(**item_key(app_id, idem_key))


def remember_op(
    app_id: str, idem_key: str, digest: str, created: Mapping[str, Any], now: int
) -> Op:
    """The transaction item that binds the key to the message being created (if absent)."""
    item = {
        **item_key(app_id, idem_key),
        "app_id": app_id,
        "body_sha256": digest,
        "message_id": created["message_id"],
        "seq": created["seq"],
        "leaf_hash": created["leaf_hash"],
        "created_at": now,
    }
    return put_op(item, if_absent=True, name=OP_NAME)


def replay(remembered: Item, digest: str) -> dict[str, Any]:
    """The first request's 201 body; 409 if this request's body is not the first one's."""
    if remembered["body_sha256"] != digest:
        raise IdempotencyKeyConflict(
            "this Idempotency-Key already recorded a message with another body",
            details={"message_id": remembered["message_id"]},
        )
    return {
        "message_id": remembered["message_id"],
        "seq": remembered["seq"],
        "leaf_hash": remembered["leaf_hash"],
    }
