"""`GET /v1/bounties`: filters (status, poster, submitter, tag) with cursor paging, without Scan.

One index is read, picked by the most selective filter: submitter, poster, tag, else status
(the state index, narrowed to the key ranges `segments_for` names), else every bounty. For each
entry the bounty item itself is read and every filter is applied to it, status through the same
`status_of` the detail view uses, at one `now` per request: a listing can never disagree with
the status function. Order: newest first, except status listings, which run in the order of the
time that decides the status (e.g. soonest to expire first for `open`).

A request reads at most MAX_EXAMINED entries (in at most MAX_QUERIES queries). A page can
therefore hold fewer than `limit` bounties and still carry a `next` cursor: keep following
`next` until it is null.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.bounties import index
from chalicelib.bounties.create import normalize_tag
from chalicelib.bounties.model import bounty_key, bounty_summary
from chalicelib.bounties.status import STATUSES, Facts, Timing, segments_for, status_of
from chalicelib.core.addresses import normalize_address
from chalicelib.core.errors import BadRequest
from chalicelib.core.parse import parse_count
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, encode_cursor

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Bounds one request's reads (each examined entry costs one GetItem of the bounty).
MAX_EXAMINED = 200
MAX_QUERIES = 10


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    poster: str | None = None
    submitter: str | None = None
    tag: str | None = None

    def fingerprint(self) -> str:
        raw = json.dumps([self.status, self.poster, self.submitter, self.tag])
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Source:
    """One index partition, optionally limited to sort times in [lo, hi)."""

    pk: str
    forward: bool
    lo: int | None = None
    hi: int | None = None

    def start(self) -> str | None:
        """Exclusive start key: just before the first entry at `lo`."""
        if self.lo is None or self.lo <= 0:
            return None
        return index.bound(self.lo)

    def past_end(self, sk: str) -> bool:
        return self.hi is not None and index.time_of(sk) >= self.hi


def parse_filters(params: dict[str, str]) -> Filters:
    unknown = sorted(set(params) - {"status", "poster", "submitter", "tag", "limit", "next"})
    if unknown:
        raise BadRequest(
            f"unknown query parameter(s): {', '.join(unknown)}",
            code="unknown_parameter",
            details={"parameters": unknown},
        )
    status = params.get("status")
    if status is not None and status not in STATUSES:
        raise BadRequest(
            f"status must be one of {', '.join(STATUSES)}",
            code="invalid_status",
            details={"statuses": list(STATUSES)},
        )
    poster = params.get("poster")
    submitter = params.get("submitter")
    tag = params.get("tag")
    return Filters(
        status=status,
        poster=normalize_address(poster, field="poster") if poster is not None else None,
        submitter=(
            normalize_address(submitter, field="submitter") if submitter is not None else None
        ),
        tag=normalize_tag(tag) if tag is not None else None,
    )


def parse_limit(raw: str | None) -> int:
    return parse_count(raw, "limit", default=DEFAULT_LIMIT, maximum=MAX_LIMIT)


def sources_for(f: Filters, now: int, timing: Timing) -> list[Source]:
    if f.submitter:
        return [Source(index.by_submitter(f.submitter), forward=False)]
    if f.poster:
        return [Source(index.by_poster(f.poster), forward=False)]
    if f.tag:
        return [Source(index.by_tag(f.tag), forward=False)]
    if f.status:
        return [
            Source(index.by_state(s.bucket), forward=True, lo=s.lo, hi=s.hi)
            for s in segments_for(f.status, now, timing)
        ]
    return [Source(index.ALL, forward=False)]


def matches(f: Filters, bounty: Item, now: int, timing: Timing) -> bool:
    if f.status and status_of(Facts.of(bounty), now, timing) != f.status:
        return False
    if f.poster and bounty["poster"] != f.poster:
        return False
    return not (f.tag and f.tag not in (bounty.get("tags") or []))


def list_bounties(rt: Runtime, params: dict[str, str]) -> dict[str, Any]:
    filters = parse_filters(params)
    limit = parse_limit(params.get("limit"))
    now = rt.clock.now_ms()
    timing = Timing.of(rt.settings)
    sources = sources_for(filters, now, timing)
    position, after = _decode(params.get("next"), filters, len(sources))
    found: list[dict[str, Any]] = []
    examined = queries = 0
    while (
        position < len(sources)
        and len(found) < limit
        and examined < MAX_EXAMINED
        and queries < MAX_QUERIES
    ):
        source = sources[position]
        start = after or source.start()
        cursor = encode_cursor({"pk": source.pk, "sk": start}) if start else None
        page_size = min(MAX_LIMIT, MAX_EXAMINED - examined, max(limit - len(found), 10))
        entries, more = rt.store.query(
            source.pk, limit=page_size, cursor=cursor, forward=source.forward
        )
        queries += 1
        finished = more is None
        for entry in entries:
            if source.past_end(entry["sk"]):
                finished = True
                break
            after = entry["sk"]
            examined += 1
            bounty = rt.store.get(**bounty_key(entry["bounty_id"]), consistent=False)
            if bounty is not None and matches(filters, bounty, now, timing):
                found.append(bounty_summary(bounty, now, timing))
            if len(found) >= limit:
                finished = finished and entry is entries[-1]
                break
        if finished:
            position, after = position + 1, None
    nxt = _encode(position, after, filters) if position < len(sources) else None
    return {"bounties": found, "next": nxt}


def _encode(position: int, after: str | None, f: Filters) -> str:
    raw = json.dumps({"p": position, "a": after, "f": f.fingerprint()}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str | None, f: Filters, sources: int) -> tuple[int, str | None]:
    if not cursor:
        return 0, None
    bad = BadRequest("the pagination cursor is not valid for this query", code="invalid_cursor")
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise bad from None
    if not isinstance(value, dict) or value.get("f") != f.fingerprint():
        raise bad
    position, after = value.get("p"), value.get("a")
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < sources:
        raise bad
    if after is not None and (not isinstance(after, str) or len(after) > 64):
        raise bad
    return position, after
