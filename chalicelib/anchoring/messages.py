"""Messages: recorded with a service-wide seq and their leaf hash, read back, deleted.

`seq` comes from one counter item, advanced in the same transaction that creates the message,
conditioned on the value read. So seqs are strictly increasing with no gaps: seq n exists only
once seq n - 1 does, which lets a batch be exactly a contiguous range of seqs. An optional
Idempotency-Key joins that transaction (idempotency.py), so a client's retry records nothing new.
"""

from __future__ import annotations

import random
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.anchoring import idempotency, merkle
from chalicelib.anchoring.model import (
    COUNTER_KEY,
    PENDING_QUEUE,
    batch_key,
    message_key,
    pending_sort_key,
    public_status,
)
from chalicelib.core.clock import iso, parse_iso
from chalicelib.core.errors import BadRequest, DependencyUnavailable, NotFound
from chalicelib.core.log import log
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import (
    ConditionFailed,
    Item,
    TransactionFailed,
    put_op,
    update_op,
)

MAX_TEXT = 200
MESSAGE_ID_RE = re.compile(r"^msg_[0-9a-f]{32}$")
CONTENT_HASH_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
FIELDS = {"conversation_id", "content_hash", "sender", "sent_at"}
RECORD_FIELDS = ("conversation_id", "sender", "sent_at", "content_hash")
LATEST_MS = 253_402_300_800_000  # 10000-01-01T00:00:00Z
# Losing the counter to a concurrent post is normal under load: read it again and retry, with a
# little jitter so two posters do not keep colliding; past this many, the store is too busy.
SEQ_ATTEMPTS = 25


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise BadRequest(
            f"{name} must be a string of 1..{MAX_TEXT} characters", code=f"invalid_{name}"
        )
    if CONTROL_RE.search(value):
        raise BadRequest(f"{name} must not contain control characters", code=f"invalid_{name}")
    return value


def parse_message(body: Mapping[str, Any]) -> dict[str, str]:
    """The record's fields, validated and normalised; 400 naming the first bad one."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadRequest(
            "only conversation_id, content_hash, sender and sent_at are recorded",
            code="unknown_field",
            details={"fields": unknown},
        )
    content_hash = body.get("content_hash")
    if not isinstance(content_hash, str) or not CONTENT_HASH_RE.match(content_hash):
        raise BadRequest(
            "content_hash must be 0x followed by 64 hex digits", code="invalid_content_hash"
        )
    sent_at = body.get("sent_at")
    try:
        sent_ms = parse_iso(sent_at)  # type: ignore[arg-type]
    except (ValueError, TypeError, OverflowError):
        raise BadRequest(
            "sent_at must be an ISO-8601 time with a zone, e.g. 2026-01-01T12:00:00Z",
            code="invalid_sent_at",
        ) from None
    if not 0 <= sent_ms < LATEST_MS:
        raise BadRequest("sent_at must be between 1970 and 9999", code="invalid_sent_at")
    return {
        "conversation_id": _text(body, "conversation_id"),
        "sender": _text(body, "sender"),
        # The leaf binds this exact text: one canonical form (UTC, milliseconds, Z).
        "sent_at": iso(sent_ms),
        "content_hash": content_hash.lower(),
    }


def message_item(
    app_id: str, message_id: str, seq: int, record: Mapping[str, str], now: int
) -> Item:
    """A message as stored: its record, its leaf, and its place in the pending queue."""
    leaf = merkle.leaf_hash({"message_id": message_id, "seq": seq, **record})
    return {
        **message_key(message_id),
        "message_id": message_id,
        "app_id": app_id,
        "seq": seq,
        **record,
        "leaf_hash": merkle.to_hex(leaf),
        "created_at": now,
        "wpk": PENDING_QUEUE,
        "wsk": pending_sort_key(seq),
    }


def post_message(
    rt: Runtime, app: Item, body: Mapping[str, Any], idempotency_key: str | None = None
) -> dict[str, Any]:
    """Record a message for `app`: 201 body {message_id, seq, leaf_hash}."""
    return record_message(rt, app, body, idempotency_key)[0]


def record_message(
    rt: Runtime, app: Item, body: Mapping[str, Any], idempotency_key: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Record a message; with an idempotency key, a repeat returns the first answer.

    Returns the 201 body and whether it is a replay (nothing written).
    """
    record = parse_message(body)
    idem_key = idempotency.parse_key(idempotency_key)
    app_id = app["app_id"]
    digest = idempotency.body_digest(body) if idem_key is not None else ""
    if idem_key is not None:
        remembered = idempotency.lookup(rt.store, app_id, idem_key)
        if remembered is not None:
            return idempotency.replay(remembered, digest), True
    message_id = "msg_" + secrets.token_hex(16)
    for attempt in range(SEQ_ATTEMPTS):
        counter = rt.store.get(**COUNTER_KEY)
        last = int(counter["last_seq"]) if counter else 0
        seq = last + 1
        now = rt.clock.now_ms()
        item = message_item(app_id, message_id, seq, record, now)
        created = {"message_id": message_id, "seq": seq, "leaf_hash": item["leaf_hash"]}
        counter_op = update_op(
            COUNTER_KEY,
            set={"last_seq": seq, "updated_at": now},
            condition=Attr("last_seq").eq(last) if counter else Attr("pk").not_exists(),
            name="counter",
        )
        ops = [counter_op, put_op(item, if_absent=True, name="message")]
        if idem_key is not None:
            ops.append(idempotency.remember_op(app_id, idem_key, digest, created, now))
        try:
            rt.store.transact(ops)
        except TransactionFailed as exc:
            taken = exc.failed(idempotency.OP_NAME)
            if taken is not None and idem_key is not None:
                # A concurrent request with the same key won: answer what it recorded.
                remembered = taken.item or idempotency.lookup(rt.store, app_id, idem_key)
                if remembered is None:
                    raise
                return idempotency.replay(remembered, digest), True
            if exc.failed("counter") is None:
                raise
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 - jitter only
            continue
        log("message_recorded", message_id=message_id, app_id=app_id, seq=seq)
        return created, False
    raise DependencyUnavailable("too many messages at once, try again", retry_after=1)


def own_message(rt: Runtime, app: Item, message_id: str) -> Item:
    """The app's message; another app's message is as unknown as a missing one (404)."""
    if not MESSAGE_ID_RE.match(message_id):
        raise NotFound("no message with this id", code="message_not_found")
    item = rt.store.get(**message_key(message_id))
    if item is None or item["app_id"] != app["app_id"]:
        raise NotFound("no message with this id", code="message_not_found")
    return item


def message_view(rt: Runtime, item: Item) -> dict[str, Any]:
    batch_seq = item.get("batch_seq")
    batch = rt.store.get(**batch_key(int(batch_seq))) if batch_seq is not None else None
    status = public_status(batch)
    return {
        "message_id": item["message_id"],
        "seq": item["seq"],
        **{name: item.get(name) for name in RECORD_FIELDS},
        "leaf_hash": item["leaf_hash"],
        "created_at": iso(item["created_at"]),
        "deleted": bool(item.get("deleted_at")),
        "deleted_at": iso(item["deleted_at"]) if item.get("deleted_at") else None,
        "anchor": {
            "status": status,
            "batch_seq": batch_seq,
            "tx_hash": batch.get("tx_hash") if batch and status == "anchored" else None,
        },
    }


def get_message(rt: Runtime, app: Item, message_id: str) -> dict[str, Any]:
    return message_view(rt, own_message(rt, app, message_id))


def delete_message(rt: Runtime, app: Item, message_id: str) -> dict[str, Any]:
    """Remove the record's fields; the seq and leaf hash stay, so every proof keeps working."""
    item = own_message(rt, app, message_id)
    if item.get("deleted_at"):
        return message_view(rt, item)
    try:
        item = rt.store.update(
            message_key(message_id),
            set={**{name: None for name in RECORD_FIELDS}, "deleted_at": rt.clock.now_ms()},
            condition=Attr("app_id").eq(app["app_id"]) & Attr("deleted_at").not_exists(),
        )
    except ConditionFailed as exc:
        item = exc.item or item  # deleted by a concurrent request: same outcome
    log("message_deleted", message_id=message_id, app_id=app["app_id"])
    return message_view(rt, item)
