"""When a batch is claimed, what it holds, and in which order anchors are requested (moto)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.anchoring import batches, merkle
from chalicelib.anchoring.job import run_anchor_job
from chalicelib.anchoring.messages import post_message
from chalicelib.anchoring.model import (
    ANCHORED,
    LEASE_NAME,
    PENDING_QUEUE,
    batch_key,
    message_key,
)
from chalicelib.anchoring.registry import anchor_calldata
from chalicelib.core.clock import FixedClock
from chalicelib.core.leases import acquire
from chalicelib.core.outbox.model import payout_id, payout_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import Item
from tests.conftest import START_MS

REGISTRY = "0x" + "34" * 20
APP = {"app_id": "app_0123456789abcdef"}


@pytest.fixture
def make_rt(moto_client: Any) -> Callable[..., Runtime]:
    def make(**env: str) -> Runtime:
        settings = load_settings({
            "TABLE_NAME": "settlekit-test",
            "ANCHOR_REGISTRY_ADDRESS": REGISTRY,
            "ANCHOR_MAX_AGE_SECONDS": "60",
            "ANCHOR_MAX_BATCH": "100",
            **env,
        })
        return Runtime(settings, clock=FixedClock(START_MS), dynamodb_client=moto_client)

    return make


@pytest.fixture
def rt(make_rt: Callable[..., Runtime]) -> Runtime:
    return make_rt()


def post(rt: Runtime, n: int) -> list[dict[str, Any]]:
    body = {
        "conversation_id": "c", "content_hash": "0x" + "01" * 32, "sender": "s",
        "sent_at": "2026-01-01T00:00:00Z",
    }
    return [post_message(rt, APP, body) for _ in range(n)]


def job(rt: Runtime, force: bool = False) -> dict[str, Any]:
    return run_anchor_job(rt, rt.clock.now_ms() + 60_000, force=force)


def batch(rt: Runtime, seq: int) -> Item:
    item = rt.store.get(**batch_key(seq))
    assert item is not None
    return item


def clock(rt: Runtime) -> FixedClock:
    assert isinstance(rt.clock, FixedClock)
    return rt.clock


def test_an_empty_window_sends_nothing(rt: Runtime) -> None:
    assert job(rt) == {}
    assert job(rt, force=True) == {}
    assert rt.store.get(**batch_key(1)) is None


def test_a_window_waits_until_its_oldest_message_is_old_enough(rt: Runtime) -> None:
    post(rt, 3)
    clock(rt).advance(59_999)
    assert job(rt) == {"waiting": 3}
    assert rt.store.get(**batch_key(1)) is None
    clock(rt).advance(1)
    summary = job(rt)
    assert summary["claimed"] == 1 and summary["messages"] == 3 and summary["requested"] == 1


def test_max_batch_waiting_messages_are_claimed_at_once_and_the_rest_waits(
    make_rt: Callable[..., Runtime],
) -> None:
    rt = make_rt(ANCHOR_MAX_BATCH="3")
    created = post(rt, 7)
    summary = job(rt)
    assert summary["claimed"] == 2 and summary["waiting"] == 1
    assert [(batch(rt, s)["first_seq"], batch(rt, s)["last_seq"]) for s in (1, 2)] == [
        (1, 3), (4, 6)
    ]
    assert rt.store.get(**batch_key(3)) is None
    clock(rt).advance(60_000)
    job(rt)
    assert (batch(rt, 3)["first_seq"], batch(rt, 3)["tree_size"]) == (7, 1)
    for c in created:
        stored = rt.store.get(**message_key(c["message_id"]))
        assert stored is not None and "wpk" not in stored
        assert stored["batch_seq"] == (c["seq"] - 1) // 3 + 1


def test_a_batch_holds_its_leaves_in_chunks_and_chains_to_the_previous_root(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "LEAF_CHUNK", 4)
    first = post(rt, 10)
    job(rt, force=True)
    second = post(rt, 3)
    job(rt, force=True)
    one, two = batch(rt, 1), batch(rt, 2)
    assert one["chunks"] == 3 and two["chunks"] == 1
    leaves = batches.load_leaves(rt.store, one)
    assert leaves == [merkle.from_hex32(c["leaf_hash"]) for c in first]
    assert one["tree_root"] == merkle.to_hex(merkle.root(leaves))
    assert two["prev"] == one["root"]
    expected = merkle.batch_root(
        31337, REGISTRY, 2, merkle.from_hex32(one["root"]), 3,
        merkle.root([merkle.from_hex32(c["leaf_hash"]) for c in second]),
    )
    assert two["root"] == merkle.to_hex(expected)


def test_the_anchor_payout_calls_the_registry_with_the_batch_root_and_no_value(
    rt: Runtime,
) -> None:
    post(rt, 2)
    job(rt, force=True)
    b = batch(rt, 1)
    payout = rt.store.get(**payout_key(payout_id("anchor:1:1")))
    assert payout is not None
    assert b["payout_id"] == payout["id"] and b["status"] == "requested"
    assert (payout["to"].lower(), payout["amount"], payout["owner_id"]) == (REGISTRY, "0", "1")
    assert payout["data"] == anchor_calldata(
        1, bytes(32), merkle.from_hex32(b["root"]), 2
    )


def test_the_next_batch_is_requested_only_once_the_previous_is_anchored(rt: Runtime) -> None:
    post(rt, 2)
    job(rt, force=True)
    post(rt, 2)
    summary = job(rt, force=True)
    assert summary["claimed"] == 1 and "requested" not in summary
    assert batch(rt, 2)["status"] == "claimed"
    assert rt.store.get(**payout_key(payout_id("anchor:2:1"))) is None
    rt.store.update(batch_key(1), set={"status": ANCHORED, "wpk": None, "wsk": None})
    assert job(rt)["requested"] == 1
    assert batch(rt, 2)["status"] == "requested"


def test_a_claim_from_a_stale_head_is_refused_and_changes_nothing(rt: Runtime) -> None:
    post(rt, 3)
    head = batches.load_head(rt.store)
    window = batches.pending_window(rt.store, head, 100)
    lease = acquire(rt.store, rt.clock, LEASE_NAME, 60_000)
    assert batches.claim(rt, lease, head, window) is not None
    post(rt, 1)
    bigger = batches.pending_window(rt.store, head, 100)
    assert batches.claim(rt, lease, head, bigger) is None  # head moved on: the claim lost
    assert rt.store.get(**batch_key(2)) is None
    assert batch(rt, 1)["tree_size"] == 3
    assert batches.load_head(rt.store).next_seq == 4
    items, _ = rt.store.query(batch_key(1)["pk"], sk_prefix="leaves#")
    assert len(items) == 1  # the lost claim's chunks were removed


def test_the_window_stops_at_a_seq_the_index_does_not_show_yet(rt: Runtime) -> None:
    created = post(rt, 4)
    hidden = message_key(created[1]["message_id"])
    # As if the (eventually consistent) index had not caught up with seq 2 yet.
    rt.store.update(hidden, set={"wpk": None, "wsk": None})
    head = batches.load_head(rt.store)
    assert [m["seq"] for m in batches.pending_window(rt.store, head, 100)] == [1]
    rt.store.update(hidden, set={"wpk": PENDING_QUEUE, "wsk": f"{2:020d}"})
    assert [m["seq"] for m in batches.pending_window(rt.store, head, 100)] == [1, 2, 3, 4]


def test_a_run_that_finds_the_lease_held_does_nothing(rt: Runtime) -> None:
    post(rt, 2)
    acquire(rt.store, rt.clock, LEASE_NAME, 60_000)
    assert job(rt, force=True) == {"skipped": "lease_held"}
    assert rt.store.get(**batch_key(1)) is None


def test_marking_left_over_by_a_crash_is_finished_before_anything_new(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core import failpoints
    from chalicelib.core.failpoints import InjectedCrash

    created = post(rt, 3)
    with failpoints.armed("anchor_after_claim"), pytest.raises(InjectedCrash):
        job(rt, force=True)
    b = batch(rt, 1)
    assert b["status"] == "claimed" and b["marked"] is False
    post(rt, 2)
    summary = job(rt, force=True)
    assert summary["resumed_marking"] == 1 and summary["claimed"] == 1
    assert [batch(rt, s)["first_seq"] for s in (1, 2)] == [1, 4]
    for c in created:
        stored = rt.store.get(**message_key(c["message_id"]))
        assert stored is not None and stored["batch_seq"] == 1


def test_disabled_anchoring_skips_the_job(make_rt: Callable[..., Runtime]) -> None:
    rt = make_rt(ANCHOR_REGISTRY_ADDRESS="")
    post(rt, 1)
    assert job(rt, force=True) == {"skipped": "anchoring_disabled"}


@pytest.fixture(autouse=True)
def _no_leftover_failpoints() -> Iterator[None]:
    yield
    from chalicelib.core import failpoints

    assert not failpoints._armed
