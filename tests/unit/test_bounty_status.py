"""The one status function: every boundary tick (+-1 ms), precedence, and the rules built on it.

`segments_for` (where the status listing looks) and the `can_*` predicates (what writes allow)
are checked against `status_of` for arbitrary bounties, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.bounties.status import (
    ABANDONED,
    CANCELLED,
    JUDGING,
    OPEN,
    PAID,
    PARTIALLY_FILLED,
    STATUSES,
    WINNER_ANNOUNCED,
    Facts,
    Timing,
    bucket_of,
    can_accept,
    can_cancel,
    can_pay,
    can_submit,
    pay_until,
    segments_for,
    status_of,
)

DAY = 86_400_000
T = Timing(accept_grace_ms=14 * DAY, pay_grace_ms=7 * DAY)
E = 1_800_000_000_000  # expires_at
F = E - 5 * DAY  # when the last slot was filled (before expiry)

NONE = Facts(expires_at=E, max_winners=2)
PARTIAL = Facts(expires_at=E, max_winners=2, winner_count=1)
PARTIAL_ALL_PAID = replace(PARTIAL, paid_count=1)
FULL = Facts(expires_at=E, max_winners=2, winner_count=2, paid_count=1, fully_accepted_at=F)
FULL_LATE = replace(FULL, fully_accepted_at=E + 3 * DAY)  # filled during judging
SETTLED = replace(FULL, paid_count=2)
CANCELLED_OPEN = replace(NONE, cancelled_at=E - DAY)

# (facts, boundary tick, status at tick - 1 ms, status at the tick and at tick + 1 ms)
BOUNDARIES = [
    (NONE, E, OPEN, JUDGING),
    (NONE, E + T.accept_grace_ms, JUDGING, ABANDONED),
    (PARTIAL, E, PARTIALLY_FILLED, PARTIALLY_FILLED),
    (PARTIAL, E + T.accept_grace_ms, PARTIALLY_FILLED, WINNER_ANNOUNCED),
    (PARTIAL, E + T.accept_grace_ms + T.pay_grace_ms, WINNER_ANNOUNCED, ABANDONED),
    (PARTIAL_ALL_PAID, E + T.accept_grace_ms, PARTIALLY_FILLED, PAID),
    (FULL, E, WINNER_ANNOUNCED, WINNER_ANNOUNCED),
    (FULL, F + T.pay_grace_ms, WINNER_ANNOUNCED, ABANDONED),
    (FULL_LATE, E + 3 * DAY + T.pay_grace_ms, WINNER_ANNOUNCED, ABANDONED),
    (SETTLED, F + T.pay_grace_ms, PAID, PAID),
    (SETTLED, E + T.accept_grace_ms, PAID, PAID),
    (CANCELLED_OPEN, E, CANCELLED, CANCELLED),
    (CANCELLED_OPEN, E + T.accept_grace_ms, CANCELLED, CANCELLED),
]


@pytest.mark.parametrize(("facts", "tick", "before", "after"), BOUNDARIES)
def test_every_boundary_tick_changes_status_exactly_at_the_tick(
    facts: Facts, tick: int, before: str, after: str
) -> None:
    assert status_of(facts, tick - 1, T) == before
    assert status_of(facts, tick, T) == after
    assert status_of(facts, tick + 1, T) == after


def test_an_untouched_bounty_is_open_until_expiry() -> None:
    assert status_of(NONE, E - 365 * DAY, T) == OPEN


def test_paid_outranks_everything_and_abandoned_never_comes_back() -> None:
    assert status_of(SETTLED, F + 1000 * DAY, T) == PAID
    assert status_of(FULL, F + 1000 * DAY, T) == ABANDONED


def test_a_partly_filled_bounty_pays_until_accepting_closed_plus_the_pay_grace() -> None:
    assert pay_until(PARTIAL, T) == E + T.accept_grace_ms + T.pay_grace_ms
    assert pay_until(FULL, T) == F + T.pay_grace_ms
    assert pay_until(NONE, T) is None


def test_the_grace_periods_come_from_settings() -> None:
    from chalicelib.core.settings import load_settings

    s = load_settings({"BOUNTY_ACCEPT_GRACE_DAYS": "3", "BOUNTY_PAY_GRACE_DAYS": "2"})
    assert Timing.of(s) == Timing(3 * DAY, 2 * DAY)
    assert Timing.of(load_settings({})) == T


# -- arbitrary bounties --------------------------------------------------------------------

BASE = 10_000_000


@st.composite
def bounties(draw: st.DrawFn) -> tuple[Facts, Timing, int]:
    timing = Timing(draw(st.integers(0, 6)), draw(st.integers(1, 6)))
    expires = BASE + draw(st.integers(0, 20))
    max_w = draw(st.integers(1, 3))
    winners = draw(st.integers(0, max_w))
    paid = draw(st.integers(0, winners))
    cancelled = None
    if winners == 0 and draw(st.booleans()):
        cancelled = BASE - draw(st.integers(0, 5))
    filled = BASE + draw(st.integers(-10, 20)) if winners == max_w else None
    now = BASE + draw(st.integers(-15, 40))
    facts = Facts(expires, max_w, winners, paid, cancelled, filled)
    return facts, timing, now


@settings(max_examples=3000, deadline=None)
@given(bounties())
def test_the_state_index_ranges_hold_exactly_the_bounties_with_that_status(
    case: tuple[Facts, Timing, int],
) -> None:
    facts, timing, now = case
    bucket, when = bucket_of(facts)
    actual = status_of(facts, now, timing)
    for status in STATUSES:
        listed = any(
            s.bucket == bucket and s.holds(when) for s in segments_for(status, now, timing)
        )
        assert listed == (status == actual), (status, actual, bucket, when)


@settings(max_examples=3000, deadline=None)
@given(bounties())
def test_what_writes_allow_follows_the_status(case: tuple[Facts, Timing, int]) -> None:
    facts, timing, now = case
    status = status_of(facts, now, timing)
    assert can_accept(facts, now, timing) == (status in (OPEN, JUDGING, PARTIALLY_FILLED))
    assert can_cancel(facts, now, timing) == (status in (OPEN, JUDGING))
    assert can_submit(facts, now) == (
        status in (OPEN, PARTIALLY_FILLED) and now < facts.expires_at
    )
    unpaid = facts.paid_count < facts.winner_count
    assert can_pay(facts, now, timing) == (
        unpaid and status in (PARTIALLY_FILLED, WINNER_ANNOUNCED)
    )
