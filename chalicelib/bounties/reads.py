"""Read one bounty (with its winners and payment hints) and its submissions."""

from __future__ import annotations

from typing import Any

from chalicelib.bounties.listing import parse_limit
from chalicelib.bounties.model import (
    SUBMISSION_PREFIX,
    bounty_pk,
    bounty_view,
    load_bounty,
    load_submission,
    load_winners,
    submission_view,
)
from chalicelib.bounties.status import Timing
from chalicelib.core.errors import BadRequest
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import decode_cursor


def get_bounty(rt: Runtime, bounty_id: str) -> dict[str, Any]:
    bounty = load_bounty(rt.store, bounty_id)
    winners = load_winners(rt.store, bounty_id) if bounty.get("winner_count") else []
    return bounty_view(bounty, winners, rt.clock.now_ms(), Timing.of(rt.settings))


def get_submission(rt: Runtime, bounty_id: str, sid: str) -> dict[str, Any]:
    load_bounty(rt.store, bounty_id)
    # `is_winner` comes from the submission item itself (the accept sets it in the same
    # transaction as the winner record), so it is right for every winner, on any page.
    return submission_view(load_submission(rt.store, bounty_id, sid))


def list_submissions(rt: Runtime, bounty_id: str, params: dict[str, str]) -> dict[str, Any]:
    unknown = sorted(set(params) - {"limit", "next"})
    if unknown:
        raise BadRequest(
            f"unknown query parameter(s): {', '.join(unknown)}", code="unknown_parameter"
        )
    load_bounty(rt.store, bounty_id)
    cursor = params.get("next")
    start = decode_cursor(cursor, {"pk", "sk"})
    if start and (
        start.get("pk") != bounty_pk(bounty_id)
        or not start.get("sk", "").startswith(SUBMISSION_PREFIX)
    ):
        # A cursor from another listing would make the store reject the query.
        raise BadRequest("the pagination cursor is not valid", code="invalid_cursor")
    items, nxt = rt.store.query(
        bounty_pk(bounty_id),
        sk_prefix=SUBMISSION_PREFIX,
        limit=parse_limit(params.get("limit")),
        cursor=cursor,
    )
    return {"submissions": [submission_view(s) for s in items], "next": nxt}
