"""Claiming a code: `POST /v1/claims` and `GET /v1/claims/{code}`.

The request path reads the code (one consistent GetItem: an unknown code is found out without a
write, and only the client's own invalid-attempt item is then touched) and writes ONE transaction:
the client's not-blocked check, the event's counters (only while the event is active: the kill
switch), the code `available -> claimed`, the claim record, the wallet's per-event allowance and
the payout intent. Fifty concurrent claims of one code therefore make one claim and one payout.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.clientip import ip_subject
from chalicelib.core.errors import Conflict, Gone, NotFound
from chalicelib.core.log import log
from chalicelib.core.outbox.intents import intent_op, make_intent
from chalicelib.core.outbox.model import payout_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, TransactionFailed, put_op, update_op
from chalicelib.core.wallets import FAUCET
from chalicelib.faucet import attempts, counters, validate
from chalicelib.faucet.claimstate import (
    CLAIM_OWNER,
    PENDING,
    claim_view,
    owner_id,
    payout_key_of,
)
from chalicelib.faucet.codes import parse_code
from chalicelib.faucet.counters import AVAILABLE, CLAIMED, REVOKED
from chalicelib.faucet.keys import claim_key, code_key, wallet_claims_key
from chalicelib.faucet.wallets import claim_wallet

Result = tuple[int, dict[str, Any]]


def claim_code(rt: Runtime, body: dict[str, Any], client_ip: str) -> Result:
    """(202, the new claim), (200, the same wallet's existing claim), or an error."""
    settings = rt.settings
    validate.require_events(settings)
    validate.only_fields(body, ("code", "wallet"))
    code = parse_code(body.get("code"))
    wallet = claim_wallet(settings, body.get("wallet"))
    subject = ip_subject(client_ip)
    now = rt.clock.now_ms()
    item = rt.store.get(**code_key(code))
    if item is None:
        attempts.record_miss(rt.store, settings, subject, now)
        raise NotFound("no such code", code="invalid_code")
    if item["state"] != AVAILABLE or now >= int(item["expires_at"]):
        # Answered without the transaction (which checks the block itself): check it here.
        attempts.raise_if_blocked(rt.store, settings, subject, now)
    if item["state"] != AVAILABLE:
        return _taken(rt, item, wallet)
    if now >= int(item["expires_at"]):
        raise Gone("this code has expired", code="code_expired")

    event_id, attempt = item["event_id"], int(item["attempts"]) + 1
    intent = make_intent(
        payout_key_of(code, attempt), item["asset"], wallet, int(item["amount"]),
        CLAIM_OWNER, owner_id(code, attempt), purpose=FAUCET,
    )
    claim = {
        **claim_key(code, attempt),
        "code": code,
        "attempt": attempt,
        "event_id": event_id,
        "wallet": wallet,
        "asset": item["asset"],
        "decimals": item["decimals"],
        "amount": item["amount"],
        "payout_id": intent.id,
        "status": PENDING,
        "created_at": now,
        "updated_at": now,
    }
    take = update_op(
        code_key(code),
        set={"state": CLAIMED, "attempts": attempt, "wallet": wallet,
             "payout_id": intent.id, "claimed_at": now, "updated_at": now},
        condition=Attr("state").eq(AVAILABLE)
        & Attr("attempts").eq(attempt - 1)
        & Attr("expires_at").gt(now),
        name="code",
    )
    allowance = update_op(
        wallet_claims_key(event_id, wallet),
        add={"claims": 1},
        condition=Attr("pk").not_exists()
        | Attr("claims").lt(int(item["max_claims_per_wallet"])),
        name="wallet",
    )
    ops = [
        attempts.blocked_check(settings, subject, now),
        counters.count_op(event_id, counters.move(AVAILABLE, CLAIMED), require_active=True),
        take,
        put_op(claim, if_absent=True, name="claim"),
        allowance,
        intent_op(intent, now),
    ]
    try:
        rt.store.transact(ops)
    except TransactionFailed as exc:
        return _refused(rt, exc, item, wallet, now)
    log("code_claimed", event_id=event_id, payout_id=intent.id, wallet=wallet, attempt=attempt)
    return 202, claim_view(settings, claim, {"status": "requested"})


def _taken(rt: Runtime, item: Item, wallet: str) -> Result:
    """A code that is not claimable: revoked, or held by a claim (idempotent for its wallet)."""
    if item["state"] == REVOKED:
        raise Gone("this code was revoked", code="revoked")
    if str(item.get("wallet", "")).lower() == wallet.lower():
        claim = rt.store.get(**claim_key(item["code"], int(item["attempts"])))
        if claim is not None:
            payout = rt.store.get(**payout_key(claim["payout_id"]))
            return 200, claim_view(rt.settings, claim, payout)
    raise Conflict("this code has already been claimed", code="already_claimed")


def _refused(rt: Runtime, exc: TransactionFailed, item: Item, wallet: str, now: int) -> Result:
    """Report what won, most important first; nothing was written."""
    if exc.failed(attempts.OP_NAME):
        raise attempts.limited(rt.settings, now)
    if exc.failed("event"):
        raise NotFound("this event is disabled", code="event_disabled")
    lost = exc.failed("code")
    if lost is not None:
        current = lost.item or rt.store.get(**code_key(item["code"]))
        if current is None:
            raise NotFound("no such code", code="invalid_code")
        if current["state"] != AVAILABLE:
            return _taken(rt, current, wallet)
        if now >= int(current["expires_at"]):
            raise Gone("this code has expired", code="code_expired")
        raise Conflict("the code changed while claiming; try again", code="claim_conflict")
    if exc.failed("wallet"):
        raise Conflict(
            "this wallet has claimed as many codes of this event as it may",
            code="wallet_claim_limit",
            details={"max_claims_per_wallet": int(item["max_claims_per_wallet"])},
        )
    raise exc


def claim_status(rt: Runtime, raw_code: str, client_ip: str) -> dict[str, Any]:
    """The latest claim of a code and its payout. A code never claimed answers exactly like an
    unknown one and counts as a miss, so this route is no oracle for valid codes."""
    code = parse_code(raw_code)
    item = rt.store.get(**code_key(code))
    claim = None
    if item is not None and int(item.get("attempts", 0)) > 0:
        claim = rt.store.get(**claim_key(code, int(item["attempts"])))
    now = rt.clock.now_ms()
    if item is None or claim is None:
        attempts.record_miss(rt.store, rt.settings, ip_subject(client_ip), now)
        raise NotFound("no claim for this code", code="claim_not_found")
    attempts.raise_if_blocked(rt.store, rt.settings, ip_subject(client_ip), now)
    payout = rt.store.get(**payout_key(claim["payout_id"]))
    view = claim_view(rt.settings, claim, payout)
    # After a proven failure the code is claimable again (until it expires).
    view["claimable"] = item["state"] == AVAILABLE and now < int(item["expires_at"])
    return view
