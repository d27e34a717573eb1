"""`Idempotency-Key` of `POST /v1/messages`: a client's retry gets the first answer, not a second
message. The mechanism is the service's (chalicelib/core/idempotency.py); this holds what a
message remembers:

  msgkey#<app_id>#<sha256 of the key> / key     message_id, seq, leaf_hash, sha256 of the body

The item is created (if absent) in the same transaction as the message and the seq counter, so a
key names at most one message, whatever the races. The app id is part of the item's key: two apps
may use the same key. A key is remembered for as long as the message is (messages are never
removed, only their fields), so a key is good for one message ever; TTL is not used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core import idempotency as core
from chalicelib.core.idempotency import (  # noqa: F401 - the names this flow's callers use
    HEADER,
    OP_NAME,
    IdempotencyKeyConflict,
    body_digest,
    parse_key,
)
from chalicelib.core.store import DynamoStore, Item, Key, Op

ANSWER = ("message_id", "seq", "leaf_hash")


def _namespace(app_id: str) -> str:
    return f"msgkey#{app_id}"


def item_key(app_id: str, idem_key: str) -> Key:
    return core.item_key(_namespace(app_id), idem_key)


def lookup(store: DynamoStore, app_id: str, idem_key: str) -> Item | None:
    return core.lookup(store, _namespace(app_id), idem_key)


def remember_op(
    app_id: str, idem_key: str, digest: str, created: Mapping[str, Any], now: int
) -> Op:
    """The transaction item that binds the key to the message being created (if absent)."""
    answer = {name: created[name] for name in ANSWER}
    return core.remember_op(_namespace(app_id), idem_key, digest, answer, now, {"app_id": app_id})


def replay(remembered: Item, digest: str) -> dict[str, Any]:
    """The first request's 201 body; 409 if this request's body is not the first one's."""
    return core.replay(remembered, digest, ANSWER, "message_id")
