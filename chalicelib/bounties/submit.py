"""Transition: a wallet submits a solution to an open bounty (one submission per wallet)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from chalicelib.bounties import index
from chalicelib.bounties.actions import SUBMIT
from chalicelib.bounties.model import (
    bounty_key,
    load_bounty,
    new_submission_id,
    submission_key,
    submission_view,
)
from chalicelib.bounties.signed import verify_request
from chalicelib.bounties.status import Facts, Timing, can_submit, status_of, submit_condition
from chalicelib.core.errors import BadRequest, Conflict, Unprocessable
from chalicelib.core.log import log
from chalicelib.core.runtime import Runtime
from chalicelib.core.signing import raise_if_replayed, replay_guard_op
from chalicelib.core.store import Item, TransactionFailed, put_op, update_op

MESSAGE_MAX = 2000
URL_MAX = 500
SUBMITTER_OP = "submitter"


class AlreadySubmitted(Conflict):
    """This wallet already has a submission on this bounty (409)."""

    code = "already_submitted"


class BountyClosed(Unprocessable):
    """The bounty takes no more submissions (422)."""

    code = "bounty_closed"


def submit_solution(rt: Runtime, bounty_id: str, body: dict[str, Any]) -> dict[str, Any]:
    signed = verify_request(rt, SUBMIT, body, bounty_id)
    message = _message(signed.message["message"])
    content_url = _content_url(signed.message["content_url"])
    submitter = signed.signer
    bounty = load_bounty(rt.store, bounty_id)
    if submitter == bounty["poster"]:
        raise BadRequest("the poster cannot submit to their own bounty", code="self_submission")
    existing = rt.store.get(**index.submitter_entry_key(bounty, submitter))
    if existing is not None:
        raise _already(existing)
    now = rt.clock.now_ms()
    facts = Facts.of(bounty)
    if not can_submit(facts, now):
        raise _closed(bounty, now, rt)
    sid = new_submission_id(now)
    submission: Item = {
        **submission_key(bounty_id, sid),
        "id": sid,
        "bounty_id": bounty_id,
        "submitter": submitter,
        "message": message,
        "content_url": content_url,
        "created_at": now,
    }
    ops = [
        update_op(
            bounty_key(bounty_id),
            add={"submission_count": 1},
            condition=submit_condition(now),
            name="bounty",
        ),
        put_op(submission, if_absent=True, name="submission"),
        index.submitter_op(bounty, submitter, sid, SUBMITTER_OP),
        replay_guard_op(signed, now, ref=sid),
    ]
    try:
        rt.store.transact(ops)
    except TransactionFailed as exc:
        raise_if_replayed(exc)
        lost = exc.failed(SUBMITTER_OP)
        if lost is not None:
            raise _already(lost.item) from exc
        if exc.failed("bounty") is not None:
            raise _closed(load_bounty(rt.store, bounty_id), now, rt) from exc
        raise
    log("bounty_submission", bounty_id=bounty_id, submission_id=sid, submitter=submitter)
    return submission_view(submission)


def _already(entry: Item | None) -> AlreadySubmitted:
    sid = (entry or {}).get("submission_id")
    return AlreadySubmitted(
        "this wallet already submitted to this bounty", details={"submission_id": sid}
    )


def _closed(bounty: Item, now: int, rt: Runtime) -> BountyClosed:
    status = status_of(Facts.of(bounty), now, Timing.of(rt.settings))
    return BountyClosed(
        f"the bounty takes no submissions ({status})", details={"status": status}
    )


def _message(value: str) -> str:
    text = value.strip()
    if not 1 <= len(text) <= MESSAGE_MAX:
        raise BadRequest(
            f"message must be 1 to {MESSAGE_MAX} characters (after trimming)",
            code="invalid_message",
            details={"field": "message"},
        )
    return text


def _content_url(value: str) -> str | None:
    text = value.strip()
    if not text:
        return None
    bad = BadRequest(
        f"content_url must be an http(s) URL of at most {URL_MAX} characters",
        code="invalid_content_url",
        details={"field": "content_url"},
    )
    if len(text) > URL_MAX or any(c.isspace() for c in text):
        raise bad
    try:
        parts = urlsplit(text)
    except ValueError:
        raise bad from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad
    return text
