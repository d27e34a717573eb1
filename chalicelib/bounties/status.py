"""A bounty's status: ONE pure function of its stored fields and the clock, and the write rules.

Half-open intervals everywhere (`start <= now < end`), in epoch milliseconds. With
`accept_until = expires_at + accept grace` and `pay grace` running from when the winners became
final (`fully_accepted_at` when every slot is filled, else `accept_until`):

    paid               every slot paid; or, once the accept window has closed with some slots
                       filled, every winner paid (unfilled slots lapse when accepting closes)
    cancelled          cancelled by the poster (only possible with no winner)
    winner-announced   winners final, some unpaid, now < final + pay grace
    abandoned          winners final, some unpaid, now >= final + pay grace
    partially-filled   some winners, accept window still open
    abandoned          no winner and now >= accept_until
    judging            no winner and expires_at <= now < accept_until
    open               no winner and now < expires_at

Each write re-checks the same boundaries as a DynamoDB condition on the bounty item (the
`*_condition` functions next to the predicates), so a request that read "open" a moment ago
cannot resurrect a bounty that has since been cancelled, filled or abandoned.

Listing by status (no Scan): each bounty has exactly one entry in a *state index* partition,
chosen by the fields only writes change (`bucket_of`), sorted by the one time that decides its
status within that bucket. `segments_for(status, now)` names the key ranges holding the bounties
with that status at `now`; a test checks it against `status_of` for arbitrary bounties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from chalicelib.core.settings import Settings

OPEN = "open"
JUDGING = "judging"
PARTIALLY_FILLED = "partially-filled"
WINNER_ANNOUNCED = "winner-announced"
PAID = "paid"
CANCELLED = "cancelled"
ABANDONED = "abandoned"
STATUSES = (OPEN, JUDGING, PARTIALLY_FILLED, WINNER_ANNOUNCED, PAID, CANCELLED, ABANDONED)

DAY_MS = 86_400_000

# State-index buckets: which of these a bounty is in changes only when a write changes it.
LIVE = "live"  # no winner, not cancelled: status by expires_at
PARTIAL_UNPAID = "partial-unpaid"  # 0 < winners < max, some unpaid: by expires_at
PARTIAL_PAID = "partial-paid"  # 0 < winners < max, all paid: by expires_at
FULL = "full"  # every slot filled, some unpaid: by fully_accepted_at
SETTLED = "paid"  # every slot filled and paid: by fully_accepted_at
VOID = "cancelled"  # by cancelled_at
BUCKETS = (LIVE, PARTIAL_UNPAID, PARTIAL_PAID, FULL, SETTLED, VOID)


@dataclass(frozen=True)
class Timing:
    accept_grace_ms: int
    pay_grace_ms: int

    @classmethod
    def of(cls, settings: Settings) -> Timing:
        return cls(
            settings.bounty_accept_grace_days * DAY_MS, settings.bounty_pay_grace_days * DAY_MS
        )


@dataclass(frozen=True)
class Facts:
    """The stored fields the status depends on."""

    expires_at: int
    max_winners: int
    winner_count: int = 0
    paid_count: int = 0
    cancelled_at: int | None = None
    fully_accepted_at: int | None = None

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Facts:
        return cls(
            expires_at=int(item["expires_at"]),
            max_winners=int(item["max_winners"]),
            winner_count=int(item.get("winner_count", 0)),
            paid_count=int(item.get("paid_count", 0)),
            cancelled_at=item.get("cancelled_at"),
            fully_accepted_at=item.get("fully_accepted_at"),
        )

    @property
    def full(self) -> bool:
        return self.winner_count >= self.max_winners


def accept_until(f: Facts, t: Timing) -> int:
    return f.expires_at + t.accept_grace_ms


def winners_final_at(f: Facts, t: Timing) -> int | None:
    """When the set of winners stopped changing (None while it still can, or has none)."""
    if f.winner_count == 0 or f.cancelled_at is not None:
        return None
    if f.full:
        assert f.fully_accepted_at is not None
        return int(f.fully_accepted_at)
    return accept_until(f, t)


def pay_until(f: Facts, t: Timing) -> int | None:
    """Payments can be recorded while now < this (None: no winner yet)."""
    if f.winner_count == 0 or f.cancelled_at is not None:
        return None
    if f.full:
        assert f.fully_accepted_at is not None
        return int(f.fully_accepted_at) + t.pay_grace_ms
    return accept_until(f, t) + t.pay_grace_ms


def status_of(f: Facts, now: int, t: Timing) -> str:
    """THE status function. Precedence as in the module docstring; intervals half-open."""
    if f.winner_count > 0 and f.full and f.paid_count >= f.max_winners:
        return PAID
    if f.cancelled_at is not None:
        return CANCELLED
    closes = accept_until(f, t)
    if f.full:
        assert f.fully_accepted_at is not None
        return WINNER_ANNOUNCED if now < f.fully_accepted_at + t.pay_grace_ms else ABANDONED
    if f.winner_count > 0:
        if now < closes:
            return PARTIALLY_FILLED
        if f.paid_count >= f.winner_count:
            return PAID
        return WINNER_ANNOUNCED if now < closes + t.pay_grace_ms else ABANDONED
    if now >= closes:
        return ABANDONED
    if now >= f.expires_at:
        return JUDGING
    return OPEN


# -- what each write may do, as a predicate (for the error) and a condition (for the write) -----


def can_submit(f: Facts, now: int) -> bool:
    """Submissions: open, or partially filled before expiry."""
    return f.cancelled_at is None and not f.full and now < f.expires_at


def submit_condition(now: int) -> ConditionBase:
    return (
        Attr("cancelled_at").not_exists()
        & Attr("winner_count").lt(Attr("max_winners"))
        & Attr("expires_at").gt(now)
    )


def can_accept(f: Facts, now: int, t: Timing) -> bool:
    """Accepting: open, judging or partially filled (a free slot, inside the accept window)."""
    return f.cancelled_at is None and not f.full and now < accept_until(f, t)


def accept_condition(f: Facts, now: int, t: Timing) -> ConditionBase:
    """`f` is what the writer read: the counts must still be those (compare-and-set)."""
    return (
        _counts_are(f)
        & Attr("cancelled_at").not_exists()
        & Attr("winner_count").lt(Attr("max_winners"))
        & Attr("expires_at").gt(now - t.accept_grace_ms)
    )


def can_cancel(f: Facts, now: int, t: Timing) -> bool:
    """Cancelling: open or judging (no winner, not abandoned)."""
    return f.cancelled_at is None and f.winner_count == 0 and now < accept_until(f, t)


def cancel_condition(now: int, t: Timing) -> ConditionBase:
    return (
        Attr("cancelled_at").not_exists()
        & Attr("winner_count").eq(0)
        & Attr("expires_at").gt(now - t.accept_grace_ms)
    )


def can_pay(f: Facts, now: int, t: Timing) -> bool:
    """Recording a payment: a winner exists and the pay window is open (not abandoned)."""
    until = pay_until(f, t)
    return until is not None and f.paid_count < f.winner_count and now < until


def pay_condition(f: Facts, now: int, t: Timing) -> ConditionBase:
    base = _counts_are(f) & Attr("cancelled_at").not_exists()
    if f.full:
        return base & Attr("fully_accepted_at").gt(now - t.pay_grace_ms)
    return base & Attr("expires_at").gt(now - t.accept_grace_ms - t.pay_grace_ms)


def _counts_are(f: Facts) -> ConditionBase:
    return Attr("winner_count").eq(f.winner_count) & Attr("paid_count").eq(f.paid_count)


# -- the state index -------------------------------------------------------------------------


def bucket_of(f: Facts) -> tuple[str, int]:
    """(bucket, sort time) of a bounty's one state-index entry."""
    if f.cancelled_at is not None:
        return VOID, int(f.cancelled_at)
    if f.winner_count == 0:
        return LIVE, f.expires_at
    if f.full:
        assert f.fully_accepted_at is not None
        return (SETTLED if f.paid_count >= f.max_winners else FULL), int(f.fully_accepted_at)
    return (PARTIAL_PAID if f.paid_count >= f.winner_count else PARTIAL_UNPAID), f.expires_at


@dataclass(frozen=True)
class Segment:
    """Entries of `bucket` whose sort time is in [lo, hi) (None: unbounded)."""

    bucket: str
    lo: int | None = None
    hi: int | None = None

    def holds(self, when: int) -> bool:
        return (self.lo is None or when >= self.lo) and (self.hi is None or when < self.hi)


def segments_for(status: str, now: int, t: Timing) -> list[Segment]:
    """Where in the state index the bounties with `status` at `now` are (see status_of)."""
    ag, pg = t.accept_grace_ms, t.pay_grace_ms
    # Each bound below is a boundary of status_of solved for the sort time, e.g. "judging"
    # is expires_at <= now < expires_at + ag, i.e. now - ag < expires_at <= now.
    table = {
        OPEN: [Segment(LIVE, now + 1, None)],
        JUDGING: [Segment(LIVE, now - ag + 1, now + 1)],
        PARTIALLY_FILLED: [
            Segment(PARTIAL_UNPAID, now - ag + 1, None),
            Segment(PARTIAL_PAID, now - ag + 1, None),
        ],
        WINNER_ANNOUNCED: [
            Segment(PARTIAL_UNPAID, now - ag - pg + 1, now - ag + 1),
            Segment(FULL, now - pg + 1, None),
        ],
        PAID: [Segment(PARTIAL_PAID, None, now - ag + 1), Segment(SETTLED)],
        CANCELLED: [Segment(VOID)],
        ABANDONED: [
            Segment(LIVE, None, now - ag + 1),
            Segment(PARTIAL_UNPAID, None, now - ag - pg + 1),
            Segment(FULL, None, now - pg + 1),
        ],
    }
    return table[status]
