"""Generic fixed-window rate limits: at most `max` requests per `window` per key, exactly.

Each (key, window) pair is one counter item. A request takes one unit of every limit it is
subject to (say, its wallet's and its IP's) in ONE transaction of conditional increments
(`count < max`), so either all counters move or none does, and concurrent requests can never push
a counter past its maximum: a lost race is a failed condition, not an over-count. Over the limit
-> 429 `rate_limited` with `Retry-After` (seconds until the fullest window ends).

Fixed windows let a burst of 2 x max straddle a boundary; the limits here protect the store and
the chain node from floods, where that is acceptable and one item per key is cheap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from boto3.dynamodb.conditions import Attr

from chalicelib.core.errors import RateLimited
from chalicelib.core.store import DynamoStore, Op, TransactionFailed, key, update_op

# Counter items are garbage a day after their window ended (TTL); correctness never reads gc_at.
GC_GRACE_S = 86_400


@dataclass(frozen=True)
class Limit:
    """`max` requests per `window_s` seconds for one subject of one scope.

    `scope` names what is limited (e.g. "otc:create:wallet"); `subject` is who (a wallet, an IP).
    A `max` of 0 switches the limit off.
    """

    scope: str
    subject: str
    max: int
    window_s: int

    def window_start(self, now_ms: int) -> int:
        return (now_ms // 1000) // self.window_s * self.window_s

    def retry_after(self, now_ms: int) -> int:
        """Seconds until this window ends (at least 1)."""
        end_ms = (self.window_start(now_ms) + self.window_s) * 1000
        return max(1, -(-(end_ms - now_ms) // 1000))

    @property
    def op_name(self) -> str:
        return f"ratelimit:{self.scope}"


def subject_hash(text: str) -> str:
    """A stable short key for a subject that should not be stored raw (an IP address)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def counter_key(limit: Limit, now_ms: int) -> dict[str, str]:
    return key(f"ratelimit#{limit.scope}#{limit.subject}", f"w#{limit.window_start(now_ms)}")


def take_op(limit: Limit, now_ms: int) -> Op:
    """One unit of `limit`, as a transaction item that fails when the window is full."""
    start = limit.window_start(now_ms)
    return update_op(
        counter_key(limit, now_ms),
        set={"gc_at": start + limit.window_s + GC_GRACE_S},
        add={"count": 1},
        condition=Attr("count").not_exists() | Attr("count").lt(limit.max),
        name=limit.op_name,
    )


def raise_if_limited(limits: list[Limit], now_ms: int, exc: TransactionFailed) -> None:
    """Translate full counters among a failed transaction's items into 429."""
    full = [
        lim for lim in limits
        if (f := exc.failed(lim.op_name)) is not None and f.reason == "ConditionalCheckFailed"
    ]
    if full:
        retry = max(lim.retry_after(now_ms) for lim in full)
        raise RateLimited(
            "too many requests; try again later",
            retry_after=retry,
            details={"limits": [lim.scope for lim in full], "retry_after_seconds": retry},
        ) from exc


def take(store: DynamoStore, limits: list[Limit], now_ms: int) -> None:
    """Take one unit of every limit at once, or none of them (429 when any is full)."""
    active = [lim for lim in limits if lim.max > 0]
    if not active:
        return
    if len({lim.op_name for lim in active}) != len(active):
        raise ValueError("each limit of one request needs its own scope")
    try:
        store.transact([take_op(lim, now_ms) for lim in active])
    except TransactionFailed as exc:
        raise_if_limited(active, now_ms, exc)
        raise
