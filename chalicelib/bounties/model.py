"""Bounty records: their keys in the one table, their ids, and what the API shows of them.

Items (one partition per bounty, so a bounty and everything in it is one Query away):

    pk=bounty#<id>  sk=bounty           the bounty: fields, counters, timestamps (ms)
    pk=bounty#<id>  sk=sub#<sid>        a submission (sid sorts by creation time)
    pk=bounty#<id>  sk=winner#<sid>     a winner: accepted_at, paid_at, payment_tx

Index items (written in the same transaction as what they index; see index.py):

    pk=bounties#all                    sk=<created_ms:013d>#<id>
    pk=bounties#by-poster#<addr>       sk=<created_ms:013d>#<id>
    pk=bounties#by-tag#<tag>           sk=<created_ms:013d>#<id>
    pk=bounties#by-submitter#<addr>    sk=<created_ms:013d>#<id>   (also: one submission per wallet)
    pk=bounties#state#<bucket>         sk=<decisive_ms:013d>#<id>  (see status.py)

Amounts are integers in base units, stored as strings (they exceed DynamoDB's 38 digits only in
theory, but wei totals are big) and shown as decimal strings.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from chalicelib.bounties.status import Facts, Timing, accept_until, pay_until, status_of
from chalicelib.core.clock import iso
from chalicelib.core.errors import NotFound
from chalicelib.core.money import format_amount
from chalicelib.core.store import DynamoStore, Item, Key, key

BOUNTY_SK = "bounty"
SUBMISSION_PREFIX = "sub#"
WINNER_PREFIX = "winner#"
BOUNTY_ID_RE = re.compile(r"^bty_[0-9a-f]{20}$")
SUBMISSION_ID_RE = re.compile(r"^sub_[0-9a-f]{20}$")


def _new_id(prefix: str, now_ms: int) -> str:
    # Time first (fixed width) so ids sort by creation; random tail so they cannot be guessed.
    return f"{prefix}_{now_ms:012x}{secrets.token_hex(4)}"


def new_bounty_id(now_ms: int) -> str:
    return _new_id("bty", now_ms)


def new_submission_id(now_ms: int) -> str:
    return _new_id("sub", now_ms)


def bounty_pk(bounty_id: str) -> str:
    return f"bounty#{bounty_id}"


def bounty_key(bounty_id: str) -> Key:
    return key(bounty_pk(bounty_id), BOUNTY_SK)


def submission_key(bounty_id: str, sid: str) -> Key:
    return key(bounty_pk(bounty_id), SUBMISSION_PREFIX + sid)


def winner_key(bounty_id: str, sid: str) -> Key:
    return key(bounty_pk(bounty_id), WINNER_PREFIX + sid)


def load_bounty(store: DynamoStore, bounty_id: str) -> Item:
    """The bounty item (consistent read), or 404 `bounty_not_found`."""
    item = store.get(**bounty_key(bounty_id)) if BOUNTY_ID_RE.match(bounty_id or "") else None
    if item is None:
        raise NotFound("no bounty with this id", code="bounty_not_found")
    return item


def load_submission(store: DynamoStore, bounty_id: str, sid: Any) -> Item:
    if isinstance(sid, str) and SUBMISSION_ID_RE.match(sid):
        item = store.get(**submission_key(bounty_id, sid))
        if item is not None:
            return item
    raise NotFound("no submission with this id on this bounty", code="submission_not_found")


def load_winners(store: DynamoStore, bounty_id: str) -> list[Item]:
    """Every winner of a bounty (at most max_winners items, a page of 100 per query)."""
    winners: list[Item] = []
    cursor = None
    while True:
        page, cursor = store.query(
            bounty_pk(bounty_id), sk_prefix=WINNER_PREFIX, limit=100, cursor=cursor,
            consistent=True,
        )
        winners.extend(page)
        if cursor is None:
            return sorted(winners, key=lambda w: (w["accepted_at"], w["submission_id"]))


# -- views -------------------------------------------------------------------------------------


def amount(item: Mapping[str, Any], name: str) -> str:
    return format_amount(int(item[name]), int(item["decimals"]))


def _iso(value: Any) -> str | None:
    return iso(int(value)) if value is not None else None


def bounty_summary(item: Mapping[str, Any], now: int, timing: Timing) -> dict[str, Any]:
    """What listings show: everything but the description, winners and payment hints."""
    facts = Facts.of(item)
    return {
        "id": item["id"],
        "status": status_of(facts, now, timing),
        "poster": item["poster"],
        "title": item["title"],
        "reward": amount(item, "reward"),
        "reward_per_winner": amount(item, "per_winner"),
        "asset": item["asset"],
        "max_winners": facts.max_winners,
        "winner_count": facts.winner_count,
        "paid_count": facts.paid_count,
        "submission_count": int(item.get("submission_count", 0)),
        "tags": list(item.get("tags") or []),
        "created_at": iso(int(item["created_at"])),
        "expires_at": iso(facts.expires_at),
        "accept_until": iso(accept_until(facts, timing)),
        "pay_until": _iso(pay_until(facts, timing)),
        "cancelled_at": _iso(facts.cancelled_at),
    }


def bounty_view(
    item: Mapping[str, Any], winners: list[Item], now: int, timing: Timing
) -> dict[str, Any]:
    """`GET /v1/bounties/{id}`: the summary, the description, winners and payment hints."""
    view = bounty_summary(item, now, timing)
    view["description"] = item["description"]
    view["winners"] = [winner_view(w, item) for w in winners]
    # One hint per unpaid winner: what the poster still has to send, to whom.
    view["payments"] = [
        {
            "submission_id": w["submission_id"],
            "recipient": w["submitter"],
            "amount": amount(item, "per_winner"),
            "asset": item["asset"],
        }
        for w in winners
        if w.get("paid_at") is None
    ]
    return view


def winner_view(w: Mapping[str, Any], bounty: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "submission_id": w["submission_id"],
        "submitter": w["submitter"],
        "amount": amount(bounty, "per_winner"),
        "accepted_at": iso(int(w["accepted_at"])),
        "paid_at": _iso(w.get("paid_at")),
        "payment_tx": w.get("payment_tx"),
    }


def submission_view(s: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": s["id"],
        "bounty_id": s["bounty_id"],
        "submitter": s["submitter"],
        "message": s["message"],
        "content_url": s.get("content_url"),
        "created_at": iso(int(s["created_at"])),
        "is_winner": s.get("accepted_at") is not None,
        "accepted_at": _iso(s.get("accepted_at")),
    }
