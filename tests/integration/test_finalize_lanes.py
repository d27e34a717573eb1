"""Each purpose's flows hear how their payouts ended without waiting behind another purpose's
backlog: finalize markers wait per purpose, and a lane finalizes its own purpose's."""

from __future__ import annotations

from typing import Any

from chalicelib.core.clock import FixedClock
from chalicelib.core.outbox import finalize
from chalicelib.core.outbox.intents import intent_item, make_intent
from chalicelib.core.outbox.jobs import run_finalize
from chalicelib.core.outbox.model import CONFIRMED, finalize_marker, payout_key
from chalicelib.core.outbox.purposes import register_owner
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore
from chalicelib.core.wallets import ESCROW, FAUCET
from tests.integration.payouts import SlowReadsStore

ESCROW_OWNER, FAUCET_OWNER = "test_final_escrow", "test_final_faucet"
register_owner(ESCROW_OWNER, ESCROW)
register_owner(FAUCET_OWNER, FAUCET)
told: list[str] = []
finalize.register_finalizer(ESCROW_OWNER, lambda rt, payout: told.append(payout["id"]))
finalize.register_finalizer(FAUCET_OWNER, lambda rt, payout: told.append(payout["id"]))


def concluded(rt: Runtime, key: str, owner: str, purpose: str) -> str:
    """A payout confirmed by the engine, with its finalize marker, as the engine leaves it."""
    intent = make_intent(key, "native", "0x" + "ab" * 20, 1, owner, key, purpose=purpose)
    payout = {**intent_item(intent, rt.clock.now_ms()), "status": CONFIRMED}
    rt.store.put(payout)
    rt.store.put(finalize_marker(payout, CONFIRMED, rt.clock.now_ms()))
    rt.clock.advance(1)  # type: ignore[attr-defined]
    return str(payout["id"])


def runtime(store: DynamoStore, clock: FixedClock) -> Runtime:
    return Runtime(load_settings({"TABLE_NAME": store.table}), clock=clock,
                   dynamodb_client=store.client)


def test_a_settlement_is_finalized_while_a_faucet_burst_of_markers_waits(
    served_store: DynamoStore, engine_clock: FixedClock
) -> None:
    rt = runtime(served_store, engine_clock)
    burst = [concluded(rt, f"burst-{i}", FAUCET_OWNER, FAUCET) for i in range(20)]
    settlement = concluded(rt, "settlement", ESCROW_OWNER, ESCROW)  # the newest of all
    told.clear()
    rt.__dict__["store"] = SlowReadsStore(served_store, engine_clock)
    # Time for a handful of reads: the faucet's 20 markers cannot all be finalized first.
    run_finalize(rt, rt.clock.now_ms() + rt.settings.job_margin_ms + 12_000)

    assert settlement in told
    assert set(burst) - set(told)  # the rest of the burst waits for the next run
    assert served_store.get(**payout_key(settlement)) is not None


def test_a_lane_finalizes_its_own_purpose_only(
    served_store: DynamoStore, engine_clock: FixedClock
) -> None:
    rt = runtime(served_store, engine_clock)
    faucet_pid = concluded(rt, "faucet-one", FAUCET_OWNER, FAUCET)
    escrow_pid = concluded(rt, "escrow-one", ESCROW_OWNER, ESCROW)
    told.clear()
    summary: dict[str, Any] = run_finalize(rt, rt.clock.now_ms() + 60_000, ESCROW)
    assert told == [escrow_pid] and summary == {"finalize_finalized": 1}
    run_finalize(rt, rt.clock.now_ms() + 60_000, FAUCET)
    assert told == [escrow_pid, faucet_pid]
