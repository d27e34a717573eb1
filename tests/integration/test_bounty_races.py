"""Bounty races with real threads on the serialized store server, and stale-read writes.

Every write re-checks, as a DynamoDB condition, the state and the time boundary its request
read; these tests build a write from a stale read (or race two writes) and show that nothing a
lost write would have changed is changed.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from chalicelib.bounties import accept, cancel, create, pay, submit
from chalicelib.bounties.model import bounty_key, load_bounty, load_winners, submission_key
from chalicelib.bounties.status import Timing
from chalicelib.core.clock import FixedClock, iso
from chalicelib.core.errors import ServiceError
from chalicelib.core.payments import Payment
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.signing import ensure_unused, verify
from chalicelib.core.store import DynamoStore, TransactionFailed
from tests.unit.test_signing import ADDRESSES, KEYS, signed_body

DAY = 86_400_000
POSTER = 0
_nonce = itertools.count()


@pytest.fixture
def rt(served_store: DynamoStore, clock: FixedClock) -> Runtime:
    settings = load_settings({"TABLE_NAME": served_store.table})
    return Runtime(settings, clock=clock, dynamodb_client=served_store.client)


def sign(rt: Runtime, action: str, body: dict[str, Any], who: int,
         bid: str | None = None) -> dict[str, Any]:
    deadline = rt.clock.now_ms() // 1000 + 600 - next(_nonce) % 500
    return signed_body(rt.settings, action, body, KEYS[who], now_ms=rt.clock.now_ms(),
                       path_value=bid, deadline=deadline)


def new_bounty(rt: Runtime, max_winners: int = 2, reward: str = "2") -> str:
    body = {
        "poster": ADDRESSES[POSTER], "title": "t", "description": "d", "reward": reward,
        "asset": "native", "max_winners": max_winners,
        "expires_at": iso(rt.clock.now_ms() + 2 * DAY), "tags": [],
    }
    return str(create.create_bounty(rt, sign(rt, "create_bounty", body, POSTER))["id"])


def new_submission(rt: Runtime, bid: str, who: int) -> str:
    body = sign(rt, "submit_solution", {"submitter": ADDRESSES[who], "message": "m"}, who, bid)
    return str(submit.submit_solution(rt, bid, body)["id"])


def accept_body(rt: Runtime, bid: str, sid: str) -> dict[str, Any]:
    return sign(rt, "accept_submission",
                {"poster": ADDRESSES[POSTER], "submission_id": sid}, POSTER, bid)


def do_accept(rt: Runtime, bid: str, sid: str) -> dict[str, Any]:
    return accept.accept_submission(rt, bid, accept_body(rt, bid, sid))


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at once (released together by a barrier); results or ServiceErrors."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except ServiceError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def codes(results: list[Any]) -> list[str]:
    return sorted(r.code if isinstance(r, ServiceError) else "ok" for r in results)


# -- races -------------------------------------------------------------------------------------


def test_concurrent_accepts_for_the_last_slot_let_exactly_one_win(rt: Runtime) -> None:
    bid = new_bounty(rt, max_winners=2)
    first = new_submission(rt, bid, 1)
    do_accept(rt, bid, first)
    rivals = [new_submission(rt, bid, who) for who in range(2, 5)]
    bodies = [accept_body(rt, bid, sid) for sid in rivals]
    results = race([partial(accept.accept_submission, rt, bid, b) for b in bodies])
    assert codes(results) == ["no_slots", "no_slots", "ok"]
    bounty = load_bounty(rt.store, bid)
    assert (bounty["winner_count"], len(load_winners(rt.store, bid))) == (2, 2)


def test_concurrent_accepts_for_free_slots_all_land_and_count_right(rt: Runtime) -> None:
    bid = new_bounty(rt, max_winners=4, reward="4")
    sids = [new_submission(rt, bid, who) for who in range(1, 5)]
    bodies = [accept_body(rt, bid, sid) for sid in sids]
    results = race([partial(accept.accept_submission, rt, bid, b) for b in bodies])
    assert codes(results) == ["ok"] * 4
    bounty = load_bounty(rt.store, bid)
    assert bounty["winner_count"] == 4 and bounty["fully_accepted_at"] == rt.clock.now_ms()
    assert len(load_winners(rt.store, bid)) == 4


def test_concurrent_submissions_from_one_wallet_store_exactly_one(rt: Runtime) -> None:
    bid = new_bounty(rt)
    bodies = [
        sign(rt, "submit_solution", {"submitter": ADDRESSES[1], "message": f"try {i}"}, 1, bid)
        for i in range(5)
    ]
    results = race([partial(submit.submit_solution, rt, bid, b) for b in bodies])
    assert codes(results) == ["already_submitted"] * 4 + ["ok"]
    items, _ = rt.store.query(f"bounty#{bid}", sk_prefix="sub#")
    assert len(items) == 1
    assert load_bounty(rt.store, bid)["submission_count"] == 1


def test_cancel_and_accept_racing_never_leave_a_cancelled_bounty_with_winners(
    rt: Runtime,
) -> None:
    for _ in range(4):
        bid = new_bounty(rt, max_winners=1)
        sid = new_submission(rt, bid, 1)
        accept_b = accept_body(rt, bid, sid)
        cancel_b = sign(rt, "cancel_bounty", {"poster": ADDRESSES[POSTER]}, POSTER, bid)
        results = race([
            partial(accept.accept_submission, rt, bid, accept_b),
            partial(cancel.cancel_bounty, rt, bid, cancel_b),
        ])
        assert sum(not isinstance(r, ServiceError) for r in results) == 1, codes(results)
        bounty = load_bounty(rt.store, bid)
        winners = load_winners(rt.store, bid)
        sub = rt.store.get(**submission_key(bid, sid))
        assert sub is not None
        if bounty.get("cancelled_at") is not None:
            assert (bounty["winner_count"], winners, sub.get("accepted_at")) == (0, [], None)
        else:
            assert bounty["winner_count"] == 1 and len(winners) == 1


def test_concurrent_replays_of_one_signed_create_make_one_bounty(rt: Runtime) -> None:
    body = {
        "poster": ADDRESSES[POSTER], "title": "t", "description": "d", "reward": "1",
        "asset": "native", "expires_at": iso(rt.clock.now_ms() + 2 * DAY),
    }
    signed = sign(rt, "create_bounty", body, POSTER)
    results = race([partial(create.create_bounty, rt, dict(signed)) for _ in range(6)])
    assert codes(results) == ["ok"] + ["signature_replayed"] * 5
    items, _ = rt.store.query("bounties#all")
    assert len(items) == 1


# -- stale reads -------------------------------------------------------------------------------


def snapshot(rt: Runtime, bid: str) -> list[dict[str, Any]]:
    items, _ = rt.store.query(f"bounty#{bid}", consistent=True)
    return items


def test_an_accept_read_while_open_cannot_land_after_the_accept_grace(
    rt: Runtime, clock: FixedClock
) -> None:
    bid = new_bounty(rt)
    sid = new_submission(rt, bid, 1)
    body = accept_body(rt, bid, sid)
    signed = verify(rt.settings, clock.now_ms(), "accept_submission", body, bid)
    read = load_bounty(rt.store, bid)  # read while open...
    submission = rt.store.get(**submission_key(bid, sid))
    assert submission is not None
    before = snapshot(rt, bid)
    late = read["expires_at"] + 14 * DAY  # ...written at the first abandoned millisecond
    ops = accept.accept_ops(read, submission, signed, late, Timing.of(rt.settings))
    with pytest.raises(TransactionFailed) as info:
        rt.store.transact(ops)
    assert info.value.failed("bounty") is not None
    assert snapshot(rt, bid) == before
    ensure_unused(rt.store, signed)  # the refused write did not burn the signature
    ops = accept.accept_ops(read, submission, signed, late - 1, Timing.of(rt.settings))
    rt.store.transact(ops)  # one millisecond earlier it lands
    assert load_bounty(rt.store, bid)["winner_count"] == 1


def test_an_accept_read_before_a_cancel_cannot_land_after_it(rt: Runtime) -> None:
    bid = new_bounty(rt)
    sid = new_submission(rt, bid, 1)
    signed = verify(rt.settings, rt.clock.now_ms(), "accept_submission",
                    accept_body(rt, bid, sid), bid)
    read = load_bounty(rt.store, bid)
    submission = rt.store.get(**submission_key(bid, sid))
    assert submission is not None
    cancel.cancel_bounty(rt, bid, sign(rt, "cancel_bounty", {"poster": ADDRESSES[0]}, 0, bid))
    before = snapshot(rt, bid)
    ops = accept.accept_ops(read, submission, signed, rt.clock.now_ms(), Timing.of(rt.settings))
    with pytest.raises(TransactionFailed):
        rt.store.transact(ops)
    assert snapshot(rt, bid) == before


def test_a_cancel_read_before_an_accept_cannot_land_after_it(rt: Runtime) -> None:
    bid = new_bounty(rt)
    sid = new_submission(rt, bid, 1)
    body = sign(rt, "cancel_bounty", {"poster": ADDRESSES[0]}, 0, bid)
    signed = verify(rt.settings, rt.clock.now_ms(), "cancel_bounty", body, bid)
    read = load_bounty(rt.store, bid)
    do_accept(rt, bid, sid)
    before = snapshot(rt, bid)
    with pytest.raises(TransactionFailed):
        rt.store.transact(cancel.cancel_ops(read, signed, rt.clock.now_ms(),
                                            Timing.of(rt.settings)))
    assert snapshot(rt, bid) == before


def fake_payment(tx: str) -> Payment:
    return Payment(tx_hash=tx, amount=10**18, block_number=1, block_hash="0x00",
                   mined_at_ms=0, confirmations=2)


def test_a_payment_written_after_the_pay_window_closed_is_refused(rt: Runtime) -> None:
    bid = new_bounty(rt, max_winners=1, reward="1")
    sid = new_submission(rt, bid, 1)
    do_accept(rt, bid, sid)
    read = load_bounty(rt.store, bid)
    winner = load_winners(rt.store, bid)[0]
    body = sign(rt, "record_payment", {"poster": ADDRESSES[0], "submission_id": sid,
                                       "tx_hash": "0x" + "11" * 32}, 0, bid)
    signed = verify(rt.settings, rt.clock.now_ms(), "record_payment", body, bid)
    closes = read["fully_accepted_at"] + 7 * DAY
    before = snapshot(rt, bid)
    ops = pay.pay_ops(read, winner, fake_payment("0x" + "11" * 32), signed, closes,
                      Timing.of(rt.settings))
    with pytest.raises(TransactionFailed):
        rt.store.transact(ops)
    assert snapshot(rt, bid) == before
    assert rt.store.get(f"txguard#0x{'11' * 32}", "txguard") is None


def test_the_paid_count_never_runs_ahead_of_the_winners_paid(rt: Runtime) -> None:
    # The seed's bug: a second payment for an already-paid winner still bumped the counter.
    bid = new_bounty(rt, max_winners=2)
    a, b = new_submission(rt, bid, 1), new_submission(rt, bid, 2)
    do_accept(rt, bid, a)
    do_accept(rt, bid, b)
    winner_a = next(w for w in load_winners(rt.store, bid) if w["submission_id"] == a)
    stale = load_bounty(rt.store, bid)
    timing = Timing.of(rt.settings)

    def pay_a(tx: str) -> None:
        body = sign(rt, "record_payment",
                    {"poster": ADDRESSES[0], "submission_id": a, "tx_hash": tx}, 0, bid)
        signed = verify(rt.settings, rt.clock.now_ms(), "record_payment", body, bid)
        rt.store.transact(pay.pay_ops(load_bounty(rt.store, bid), winner_a, fake_payment(tx),
                                      signed, rt.clock.now_ms(), timing))

    pay_a("0x" + "21" * 32)
    with pytest.raises(TransactionFailed) as info:
        pay_a("0x" + "22" * 32)  # fresh bounty read: only the winner's condition stops it
    assert info.value.failed("winner") is not None
    bounty = load_bounty(rt.store, bid)
    assert bounty["paid_count"] == 1
    assert rt.store.get(f"txguard#0x{'22' * 32}", "txguard") is None
    assert stale["paid_count"] == 0 and rt.store.get(**bounty_key(bid)) == bounty
