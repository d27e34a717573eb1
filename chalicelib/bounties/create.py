"""Transition: (nothing) -> open. A poster creates a bounty with a signed request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib.bounties import index
from chalicelib.bounties.actions import CREATE
from chalicelib.bounties.model import bounty_key, bounty_view, new_bounty_id
from chalicelib.bounties.signed import verify_request
from chalicelib.bounties.status import Timing
from chalicelib.core.addresses import normalize_address
from chalicelib.core.assets import NATIVE, resolve_asset
from chalicelib.core.clock import parse_iso
from chalicelib.core.errors import BadRequest
from chalicelib.core.log import log
from chalicelib.core.money import format_amount, parse_amount
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import Settings
from chalicelib.core.signing import raise_if_replayed, replay_guard_op
from chalicelib.core.store import TransactionFailed, put_op

TITLE_MAX = 120
DESCRIPTION_MAX = 4000
MAX_WINNERS = 1000  # a malformed-input guard, not a product limit
TAGS_MAX = 5
TAG_MAX = 24
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# A bounty must run long enough for anyone to notice it, and not outlive anyone's interest.
MIN_DURATION_MS = 3_600_000
MAX_DURATION_MS = 365 * 86_400_000


@dataclass(frozen=True)
class NewBounty:
    poster: str
    title: str
    description: str
    reward: int
    asset: str
    decimals: int
    max_winners: int
    expires_at: int
    tags: list[str]

    @property
    def per_winner(self) -> int:
        return self.reward // self.max_winners


def create_bounty(rt: Runtime, body: dict[str, Any]) -> dict[str, Any]:
    signed = verify_request(rt, CREATE, body)
    now = rt.clock.now_ms()
    new = parse_new_bounty(rt.settings, signed.message, now)
    bid = new_bounty_id(now)
    item = {
        **bounty_key(bid),
        "id": bid,
        "poster": new.poster,
        "title": new.title,
        "description": new.description,
        "reward": str(new.reward),
        "per_winner": str(new.per_winner),
        "asset": new.asset,
        "decimals": new.decimals,
        "max_winners": new.max_winners,
        "winner_count": 0,
        "paid_count": 0,
        "submission_count": 0,
        "expires_at": new.expires_at,
        "tags": new.tags,
        "created_at": now,
    }
    ops = [
        put_op(item, if_absent=True, name="bounty"),
        *index.created_ops(item),
        replay_guard_op(signed, now, ref=bid),
    ]
    try:
        rt.store.transact(ops)
    except TransactionFailed as exc:
        raise_if_replayed(exc)
        raise
    log("bounty_created", bounty_id=bid, poster=new.poster, max_winners=new.max_winners)
    return bounty_view(item, [], now, Timing.of(rt.settings))


def parse_new_bounty(settings: Settings, msg: dict[str, Any], now: int) -> NewBounty:
    """Validate the signed fields; 400 with a precise code for the first bad one."""
    asset, decimals = resolve_asset(settings, msg["asset"])
    if asset != NATIVE:
        asset = normalize_address(asset, field="asset")
    reward = parse_amount(msg["reward"], decimals, field="reward")
    max_winners = msg["max_winners"]
    if not 1 <= max_winners <= MAX_WINNERS:
        raise BadRequest(
            f"max_winners must be from 1 to {MAX_WINNERS}",
            code="invalid_max_winners",
            details={"field": "max_winners"},
        )
    remainder = reward % max_winners
    if remainder:
        lower, higher = reward - remainder, reward - remainder + max_winners
        nearest = [format_amount(a, decimals) for a in (lower, higher) if a > 0]
        raise BadRequest(
            f"reward must divide evenly by max_winners in base units; nearest valid rewards: "
            f"{' or '.join(nearest)}",
            code="reward_not_divisible",
            details={"field": "reward", "max_winners": max_winners, "nearest": nearest},
        )
    return NewBounty(
        poster=msg["poster"],
        title=_text(msg["title"], "title", TITLE_MAX),
        description=_text(msg["description"], "description", DESCRIPTION_MAX),
        reward=reward,
        asset=asset,
        decimals=decimals,
        max_winners=max_winners,
        expires_at=_expiry(msg["expires_at"], now),
        tags=_tags(msg["tags"]),
    )


def _text(value: str, field: str, longest: int) -> str:
    text = value.strip()
    if not 1 <= len(text) <= longest:
        raise BadRequest(
            f"{field} must be 1 to {longest} characters (after trimming)",
            code=f"invalid_{field}",
            details={"field": field, "max": longest},
        )
    return text


def _expiry(value: str, now: int) -> int:
    try:
        when = parse_iso(value)
    except ValueError:
        raise BadRequest(
            "expires_at must be an ISO-8601 time with a zone, e.g. 2026-01-01T00:00:00Z",
            code="invalid_expires_at",
            details={"field": "expires_at"},
        ) from None
    if not now + MIN_DURATION_MS <= when <= now + MAX_DURATION_MS:
        raise BadRequest(
            "expires_at must be from 1 hour to 365 days from now",
            code="invalid_expires_at",
            details={"field": "expires_at"},
        )
    return when


def _tags(values: list[str]) -> list[str]:
    if len(values) > TAGS_MAX:
        raise BadRequest(
            f"at most {TAGS_MAX} tags", code="invalid_tags", details={"field": "tags"}
        )
    tags = [normalize_tag(v) for v in values]
    if len(set(tags)) != len(tags):
        raise BadRequest("tags must not repeat", code="invalid_tags", details={"field": "tags"})
    return tags


def normalize_tag(value: Any) -> str:
    """Tags are matched case-insensitively: trimmed, lower-cased, 1..24 of [a-z0-9._-]."""
    tag = value.strip().lower() if isinstance(value, str) else ""
    if not 1 <= len(tag) <= TAG_MAX or not TAG_RE.match(tag):
        raise BadRequest(
            f"each tag must be 1 to {TAG_MAX} letters, digits, '.', '_' or '-'",
            code="invalid_tags",
            details={"field": "tags"},
        )
    return tag
