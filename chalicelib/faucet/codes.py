"""Claim codes: unguessable, created collision-free in transactions, listed, revoked.

Batches of them are created (and resumed) by batches.py.

A code is 120 random bits from `secrets` (base32, 24 characters) behind an optional organizer
prefix, and stands alone as one item `code#<code>` that carries what it pays (copied from its
event, which cannot change), so a claim reads one item and writes one transaction. Codes are
created by conditional puts, CODES_PER_TRANSACTION per transaction with the event's counter
update that also checks the event is still active; a collision cancels only its transaction,
which is retried with fresh codes in the colliding places (batches.py).
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.clock import iso
from chalicelib.core.errors import BadRequest, Conflict, NotFound
from chalicelib.core.log import log
from chalicelib.core.parse import parse_count
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, TransactionFailed, update_op
from chalicelib.faucet import counters
from chalicelib.faucet.counters import AVAILABLE, REVOKED
from chalicelib.faucet.events import load_event
from chalicelib.faucet.keys import code_key, event_codes_queue

# 15 bytes = 120 bits (the issue asks for >= 96), exactly 24 base32 characters, no padding.
CODE_BYTES = 15
CODE_RE = re.compile(r"^[A-Z0-9_-]{1,64}$")
MAX_CODES = 500
# DynamoDB takes 100 items per transaction; besides the codes, one is the event's counter update,
# one the batch part (batches.py), one the commit marker (core/commits.py).
CODES_PER_TRANSACTION = 97
COLLISION_RETRIES = 5
PAGE_MAX = 100


def new_code(prefix: str | None = None) -> str:
    random_part = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode()
    return f"{prefix.upper()}-{random_part}" if prefix else random_part


def parse_code(value: Any) -> str:
    """Codes are case-insensitive for people typing them: stored and compared upper-case."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if not CODE_RE.match(code):
        raise BadRequest(
            "code must be 1-64 letters, digits, '_' or '-'", code="invalid_code_format"
        )
    return code


def load_code(rt: Runtime, code: str) -> Item:
    item = rt.store.get(**code_key(code))
    if item is None:
        raise NotFound("no such code", code="invalid_code")
    return item


def fresh(prefix: str | None, taken: set[str]) -> str:
    code = new_code(prefix)
    while code in taken:  # two equal codes in one transaction would be a ValidationException
        code = new_code(prefix)
    return code


def code_item(event: Item, code: str, now: int) -> Item:
    return {
        **code_key(code),
        "code": code,
        "event_id": event["id"],
        "asset": event["asset"],
        "decimals": event["decimals"],
        "amount": event["amount"],
        "expires_at": event["expires_at"],
        "max_claims_per_wallet": event["max_claims_per_wallet"],
        "state": AVAILABLE,
        "attempts": 0,  # claim attempts so far; the next claim is attempt + 1
        "created_at": now,
        # Listed under its event for the admin for as long as it exists.
        "wpk": event_codes_queue(event["id"]),
        "wsk": f"{now:013d}#{code}",
    }


def code_view(item: Item, now: int) -> dict[str, Any]:
    state = item["state"]
    if state == AVAILABLE and now >= int(item["expires_at"]):
        state = "expired"
    return {
        "code": item["code"],
        "state": state,
        "wallet": item.get("wallet"),
        "payout_id": item.get("payout_id"),
        "attempts": int(item.get("attempts", 0)),
        "claimed_at": iso(int(item["claimed_at"])) if item.get("claimed_at") else None,
    }


def list_codes(
    rt: Runtime, event_id: str, limit: str | None, cursor: str | None
) -> dict[str, Any]:
    load_event(rt.store, event_id)
    size = parse_count(limit, "limit", default=PAGE_MAX, maximum=PAGE_MAX)
    items, nxt = rt.store.query_work(event_codes_queue(event_id), limit=size, cursor=cursor)
    now = rt.clock.now_ms()
    return {"event_id": event_id, "codes": [code_view(i, now) for i in items], "next": nxt}


def revoke_code(rt: Runtime, raw_code: str) -> dict[str, Any]:
    """An unclaimed code can no longer be claimed. Idempotent; a claimed code is a 409."""
    item = load_code(rt, parse_code(raw_code))
    now = rt.clock.now_ms()
    if item["state"] == AVAILABLE:
        revoke = update_op(
            code_key(item["code"]),
            set={"state": REVOKED, "revoked_at": now},
            condition=Attr("state").eq(AVAILABLE) & Attr("attempts").eq(item["attempts"]),
            name="code",
        )
        count = counters.count_op(item["event_id"], counters.move(AVAILABLE, REVOKED),
                                  require_active=False)
        try:
            rt.store.transact([revoke, count])
            log("code_revoked", event_id=item["event_id"])
        except TransactionFailed:
            pass  # claimed or revoked meanwhile: report what it is now
        item = load_code(rt, item["code"])
    if item["state"] != REVOKED:
        raise Conflict(
            "only an unclaimed code can be revoked",
            code="code_not_revocable",
            details={"state": item["state"]},
        )
    return code_view(item, now)
