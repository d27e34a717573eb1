"""The admin's side of ambiguous claims: list them, and resolve one with a recorded decision.

A claim whose payout is `needs_attention` keeps its code locked: the transaction may still land.
Only two things unlock it: the payout's own later outcome (see claim_outcomes), or an admin who
looked and decides, with their name recorded on the claim together with the time and the payout
status at that moment:

- `paid`: the participant was paid (the ambiguous transaction landed, or they were paid by hand).
  Refused when the payout is proven failed: the engine is about to release the code itself.
- `release`: no money moved and the code may be claimed again. Refused when the payout is
  confirmed. If the old transaction lands after a release anyway, the claim becomes
  `paid_after_release` with an alert, since money may then have moved twice.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.clock import iso
from chalicelib.core.errors import BadRequest, Conflict
from chalicelib.core.log import log
from chalicelib.core.outbox.model import CONFIRMED, FAILED, payout_key, unchanged
from chalicelib.core.parse import parse_count
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Op, TransactionFailed, check_op
from chalicelib.faucet import counters, validate
from chalicelib.faucet.claimstate import (
    NEEDS_ATTENTION,
    PAID,
    RELEASED,
    claim_view,
    release_ops,
    settle_ops,
)
from chalicelib.faucet.codes import load_code, parse_code
from chalicelib.faucet.keys import NEEDS_ATTENTION_QUEUE, claim_key
from chalicelib.faucet.webhook_events import claim_event_op

OUTCOMES = ("paid", "release")
PAGE_MAX = 100
PAYOUT_CHECK = "payout"


def resolve_claim(rt: Runtime, raw_code: str, body: dict[str, Any]) -> dict[str, Any]:
    validate.only_fields(body, ("outcome", "by", "reason"))
    outcome = body.get("outcome")
    if outcome not in OUTCOMES:
        raise BadRequest("outcome must be paid or release", code="invalid_outcome")
    by = validate.text_field(body, "by", 100)
    reason = validate.text_field(body, "reason", 500, required=False) or None
    item = load_code(rt, parse_code(raw_code))
    if item["state"] != counters.NEEDS_ATTENTION:
        raise Conflict(
            "only a claim that needs attention can be resolved",
            code="claim_not_in_attention",
            details={"state": item["state"]},
        )
    claim = rt.store.get(**claim_key(item["code"], int(item["attempts"])))
    if claim is None or claim["status"] != NEEDS_ATTENTION:
        raise Conflict("the claim changed; look again", code="claim_conflict")
    payout = rt.store.get(**payout_key(claim["payout_id"]))
    payout_status = payout["status"] if payout else None
    if outcome == "release" and payout_status == CONFIRMED:
        raise Conflict("the payout is confirmed: money moved", code="payout_confirmed")
    if outcome == "paid" and payout_status == FAILED:
        raise Conflict("the payout is proven failed: the code is being released",
                       code="payout_failed")
    now = rt.clock.now_ms()
    resolution = {"outcome": outcome, "by": by, "reason": reason, "at": now,
                  "payout_status": payout_status}
    if outcome == "paid":
        ops = settle_ops(item, claim, PAID, now, resolution=resolution)
        ops.append(claim_event_op(claim, PAID, payout or {"id": claim["payout_id"]}, now))
    else:
        ops = release_ops(item, claim, RELEASED, now, resolution=resolution)
        # Integrations were told of nothing since the claim; the code is claimable again.
        ops.append(claim_event_op(claim, RELEASED, payout or {"id": claim["payout_id"]}, now))
    try:
        rt.store.transact([*ops, _payout_unchanged(claim["payout_id"], payout)])
    except TransactionFailed as exc:
        if exc.failed(PAYOUT_CHECK) is not None:
            # The engine concluded the payout since we read it: its outcome decides, not us.
            raise Conflict("the payout changed while resolving; look again",
                           code="payout_changed") from None
        raise Conflict("the claim changed while resolving; look again",
                       code="claim_conflict") from None
    log("claim_resolved", event_id=item["event_id"], payout_id=claim["payout_id"],
        outcome=outcome, by=by)
    resolved = rt.store.get(**claim_key(item["code"], int(item["attempts"])))
    assert resolved is not None
    return {**claim_view(rt.settings, resolved, payout),
            "resolution": {**resolution, "at": iso(now)}}


def _payout_unchanged(pid: str, payout: Item | None) -> Op:
    """The decision holds only for the payout exactly as it was read (same status, version)."""
    if payout is None:
        return check_op(payout_key(pid), Attr("pk").not_exists(), name=PAYOUT_CHECK)
    condition = unchanged(payout)
    return check_op(payout_key(pid), condition, name=PAYOUT_CHECK)


def list_claims(rt: Runtime, status: str | None, limit: str | None,
                cursor: str | None) -> dict[str, Any]:
    """Claims waiting for a human (`status=needs_attention`), oldest first."""
    if status != NEEDS_ATTENTION:
        raise BadRequest("status must be needs_attention", code="invalid_status")
    size = parse_count(limit, "limit", default=50, maximum=PAGE_MAX)
    items, nxt = rt.store.query_work(NEEDS_ATTENTION_QUEUE, limit=size, cursor=cursor)
    claims = []
    for claim in items:
        payout = rt.store.get(**payout_key(claim["payout_id"]))
        claims.append({**claim_view(rt.settings, claim, payout), "event_id": claim["event_id"]})
    return {"claims": claims, "next": nxt}
