"""Anchoring end to end on the hardhat node: batches confirmed at depth through the payout engine,
receipts that verify, crashes at every step boundary, reverts, re-orgs. Assertions are made on
the chain (the registry's head and its `Anchored` events) as well as on what is stored.

Helpers and fixtures here are shared with `test_verify_receipts.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from chalicelib import jobs
from chalicelib.anchoring import merkle, proofs
from chalicelib.anchoring.job import run_anchor_job
from chalicelib.anchoring.messages import delete_message, get_message, post_message
from chalicelib.anchoring.model import batch_key, message_key
from chalicelib.anchoring.registry import ANCHORED_TOPIC, anchor_calldata
from chalicelib.anchoring.verify import JsonRpc, verify
from chalicelib.core import failpoints
from chalicelib.core.artifacts import load_abi
from chalicelib.core.clock import FixedClock
from chalicelib.core.failpoints import InjectedCrash
from chalicelib.core.outbox.model import payout_id, payout_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import DynamoStore, Item
from local import bootstrap
from tests.integration.conftest import engine_settings
from tests.integration.payouts import automine, mine, rpc

ETH = 10**18
APP = {"app_id": "app_" + "a" * 16}
GAS_TARGET = 35_000
PAST_REBROADCAST_MS = 31_000
# last_seq and last_root are the registry's first two storage slots (submitter is immutable);
# the re-anchor tests use hardhat_setStorageAt on them to make an anchor transaction revert.
LAST_SEQ_SLOT = 0


@pytest.fixture
def anchor_rt(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore, token_address: str,
    hot_key: str, engine_clock: FixedClock,
) -> Iterator[Runtime]:
    """A funded hot wallet, a registry whose submitter it is, messages due at once."""
    wallet = Account.from_key(hot_key).address
    bootstrap.fund_native(w3, wallet, 10 * ETH)
    registry = bootstrap.deploy(w3, "AnchorRegistry", wallet)
    settings = engine_settings(
        chain_url, hot_key, token_address, served_store.table,
        ANCHOR_REGISTRY_ADDRESS=registry, ANCHOR_MAX_AGE_SECONDS="0",
    )
    yield Runtime(settings, clock=engine_clock, dynamodb_client=served_store.client)


# -- helpers (imported by test_verify_receipts.py) --------------------------------------------


def registry_of(rt: Runtime) -> str:
    assert rt.settings.anchor_registry_address
    return rt.settings.anchor_registry_address


def contract(w3: Any, rt: Runtime) -> Any:
    return w3.eth.contract(address=registry_of(rt), abi=load_abi("AnchorRegistry"))


def deadline(rt: Runtime) -> int:
    return rt.clock.now_ms() + 60_000


def anchor_job(rt: Runtime) -> dict[str, Any]:
    return run_anchor_job(rt, deadline(rt))


def engine(rt: Runtime) -> dict[str, Any]:
    return jobs.payouts(rt, deadline(rt))


def tick(rt: Runtime) -> None:
    anchor_job(rt)
    engine(rt)


def settle(rt: Runtime, w3: Any, rounds: int = 4) -> None:
    """Run the jobs and mine until whatever is due is anchored at depth."""
    for _ in range(rounds):
        tick(rt)
        mine(w3, 2)
    tick(rt)


def post(rt: Runtime, n: int, app: Item = APP) -> list[dict[str, Any]]:
    return [
        post_message(rt, app, {
            "conversation_id": f"room-{i % 2}", "content_hash": "0x" + f"{i:064x}",
            "sender": f"user-{i}", "sent_at": f"2026-09-21T10:00:{i % 60:02d}Z",
        })
        for i in range(n)
    ]


def batch(rt: Runtime, seq: int) -> Item:
    item = rt.store.get(**batch_key(seq))
    assert item is not None
    return item


def anchored_events(w3: Any, rt: Runtime) -> list[Any]:
    return list(w3.eth.get_logs({
        "address": registry_of(rt), "fromBlock": 0, "toBlock": "latest",
        "topics": [ANCHORED_TOPIC],
    }))


def receipt_of(rt: Runtime, message_id: str, app: Item = APP) -> dict[str, Any]:
    status, body = proofs.message_proof(rt, app, message_id)
    assert status == 200, body
    return body


def check(rt: Runtime, chain_url: str, receipt: Any, **kwargs: Any) -> str:
    kwargs.setdefault("contract", registry_of(rt))
    kwargs.setdefault("chain_id", 31337)
    return verify(receipt, JsonRpc(chain_url), **kwargs)


def set_last_seq(w3: Any, rt: Runtime, value: int) -> None:
    rpc(w3, "hardhat_setStorageAt", [registry_of(rt), hex(LAST_SEQ_SLOT), "0x" + f"{value:064x}"])
    assert contract(w3, rt).functions.last_seq().call() == value


def payouts_of_batch(rt: Runtime, seq: int, up_to: int = 5) -> list[Item]:
    found = [rt.store.get(**payout_key(payout_id(f"anchor:{seq}:{a}"))) for a in range(1, up_to)]
    return [p for p in found if p is not None]


# -- the happy path ------------------------------------------------------------------------------


def test_messages_are_anchored_at_depth_and_every_receipt_verifies(
    anchor_rt: Runtime, w3: Any, chain_url: str
) -> None:
    rt = anchor_rt
    created = post(rt, 5)
    anchor_job(rt)
    engine(rt)  # sent and (automine) mined, not yet at depth
    assert batch(rt, 1)["status"] == "requested"
    assert proofs.message_proof(rt, APP, created[0]["message_id"])[0] == 202
    mine(w3, 2)
    engine(rt)
    b = batch(rt, 1)
    assert b["status"] == "anchored", b
    (event,) = anchored_events(w3, rt)
    assert "0x" + bytes(event["transactionHash"]).hex() == b["tx_hash"]
    assert event["logIndex"] == b["log_index"] and event["blockNumber"] == b["block_number"]
    registry = contract(w3, rt)
    assert registry.functions.last_seq().call() == 1
    assert "0x" + bytes(registry.functions.last_root().call()).hex() == b["root"]
    for c in created:
        receipt = receipt_of(rt, c["message_id"])
        assert receipt["version"] == 2 and receipt["leaf"]["hash"] == c["leaf_hash"]
        assert receipt["leaf"]["fields"]["seq"] == str(c["seq"])  # exact in JavaScript too
        assert receipt["index"] == c["seq"] - 1 and receipt["tree_size"] == 5
        assert receipt["anchor"]["chain"] == "eip155:31337"
        assert check(rt, chain_url, receipt) == "valid"
        view = get_message(rt, APP, c["message_id"])
        assert view["anchor"] == {"status": "anchored", "batch_seq": 1, "tx_hash": b["tx_hash"]}


def test_proofs_still_verify_after_deleting_other_messages_of_the_batch(
    anchor_rt: Runtime, w3: Any, chain_url: str
) -> None:
    rt = anchor_rt
    created = post(rt, 7)
    delete_message(rt, APP, created[2]["message_id"])  # deleted before anchoring
    settle(rt, w3)
    assert batch(rt, 1)["status"] == "anchored" and batch(rt, 1)["tree_size"] == 7
    for c in created[4:]:
        delete_message(rt, APP, c["message_id"])  # deleted after anchoring
    for c in (created[0], created[1], created[3]):
        assert check(rt, chain_url, receipt_of(rt, c["message_id"])) == "valid"
    stored = rt.store.get(**message_key(created[5]["message_id"]))
    assert stored is not None and stored["leaf_hash"] == created[5]["leaf_hash"]


def test_batches_chain_on_chain_and_each_receipt_names_its_own_batch(
    anchor_rt: Runtime, w3: Any, chain_url: str
) -> None:
    rt = anchor_rt
    first = post(rt, 3)
    settle(rt, w3, rounds=2)
    second = post(rt, 4)
    settle(rt, w3, rounds=2)
    one, two = batch(rt, 1), batch(rt, 2)
    assert (one["status"], two["status"]) == ("anchored", "anchored")
    assert two["prev"] == one["root"] and (two["first_seq"], two["last_seq"]) == (4, 7)
    events = anchored_events(w3, rt)
    assert [int.from_bytes(e["topics"][1], "big") for e in events] == [1, 2]
    assert contract(w3, rt).functions.last_seq().call() == 2
    assert receipt_of(rt, first[0]["message_id"])["batch"]["seq"] == "1"
    late = receipt_of(rt, second[3]["message_id"])
    assert late["batch"]["seq"] == "2" and late["batch"]["prev"] == one["root"]
    assert check(rt, chain_url, late) == "valid"
    assert check(rt, chain_url, receipt_of(rt, first[2]["message_id"])) == "valid"


def test_anchor_calldata_and_event_topic_match_the_compiled_abi(
    anchor_rt: Runtime, w3: Any
) -> None:
    registry = contract(w3, anchor_rt)
    prev, root = bytes(range(32)), bytes(range(32, 64))
    ours = anchor_calldata(7, prev, root, 1234)
    theirs = registry.functions.anchor(7, prev, root, 1234)._encode_transaction_data()
    assert ours == theirs
    abi_event = next(e for e in load_abi("AnchorRegistry") if e.get("name") == "Anchored")
    signature = "Anchored(" + ",".join(i["type"] for i in abi_event["inputs"]) + ")"
    assert ANCHORED_TOPIC == "0x" + bytes(Web3.keccak(text=signature)).hex()


def test_anchors_after_the_first_stay_within_the_gas_target_whatever_the_batch_size(
    anchor_rt: Runtime, w3: Any
) -> None:
    rt = anchor_rt
    used = []
    for size in (1, 40, 3):
        post(rt, size)
        settle(rt, w3, rounds=2)
        seq = len(used) + 1
        used.append(w3.eth.get_transaction_receipt(batch(rt, seq)["tx_hash"])["gasUsed"])
    assert all(g <= GAS_TARGET for g in used[1:]), used


# -- crashes -------------------------------------------------------------------------------------

CRASH_POINTS = [
    "anchor_after_leaves_stored",  # leaves written, nothing claimed
    "anchor_after_claim",          # claimed, messages not yet marked, nothing requested
    "anchor_after_mark",           # claimed and marked, nothing requested
    "anchor_after_request",        # the payout intent exists, nothing sent
    "after_store_before_broadcast",  # (engine) the anchor transaction signed, not sent
    "after_broadcast_before_record",  # (engine) sent, not recorded as sent
    "during_finalize",             # (engine) the batch marked anchored, the marker not removed
]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_at_any_step_leaves_no_orphan_batch_and_anchors_exactly_once(
    anchor_rt: Runtime, w3: Any, chain_url: str, point: str
) -> None:
    rt = anchor_rt
    created = post(rt, 4)
    with failpoints.armed(point), pytest.raises(InjectedCrash):
        for _ in range(4):  # the engine's crash points are reached a tick or two later
            tick(rt)
            mine(w3, 2)
    more = post(rt, 2)  # arrives while the first batch is being recovered
    settle(rt, w3, rounds=5)

    one = batch(rt, 1)
    assert one["status"] == "anchored"
    assert [p["status"] for p in payouts_of_batch(rt, 1)] == ["confirmed"]  # one payout key
    events = anchored_events(w3, rt)
    seqs = [int.from_bytes(e["topics"][1], "big") for e in events]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1  # no batch anchored twice
    assert contract(w3, rt).functions.last_seq().call() == len(seqs)
    covered = []
    for s in seqs:
        b = batch(rt, s)
        assert b["status"] == "anchored"
        covered += list(range(b["first_seq"], b["last_seq"] + 1))
    assert covered == [c["seq"] for c in created + more]  # each message in exactly one batch
    assert rt.store.get(**batch_key(len(seqs) + 1)) is None  # no orphan batch
    for c in created + more:
        assert check(rt, chain_url, receipt_of(rt, c["message_id"])) == "valid"


# -- reverts -------------------------------------------------------------------------------------


def test_a_reverted_anchor_alerts_once_and_is_re_anchored_with_a_new_payout(
    anchor_rt: Runtime, w3: Any, chain_url: str, alerts: Callable[..., int]
) -> None:
    rt = anchor_rt
    created = post(rt, 3)
    anchor_job(rt)
    set_last_seq(w3, rt, 5)  # the registry refuses batch 1 while this lasts
    engine(rt)  # sent with fallback gas; mined; reverted
    first = rt.store.get(**payout_key(payout_id("anchor:1:1")))
    assert first is not None
    assert w3.eth.get_transaction_receipt(first["tx_hash"])["status"] == 0
    set_last_seq(w3, rt, 0)  # the transient cause is gone
    for _ in range(3):
        mine(w3, 2)
        engine(rt)
        anchor_job(rt)
    b = batch(rt, 1)
    assert b["status"] == "anchored" and b["attempt"] == 2
    assert [p["status"] for p in payouts_of_batch(rt, 1)] == ["failed", "confirmed"]
    assert b["payout_id"] == payout_id("anchor:1:2")
    assert len(anchored_events(w3, rt)) == 1
    assert alerts("anchor_reverted") == 1
    assert check(rt, chain_url, receipt_of(rt, created[1]["message_id"])) == "valid"
    for _ in range(2):
        mine(w3, 1)
        tick(rt)
    assert alerts("anchor_reverted") == 1 and len(payouts_of_batch(rt, 1)) == 2


def test_a_revert_that_re_sending_cannot_fix_parks_the_batch_with_one_alert_and_no_loop(
    anchor_rt: Runtime, w3: Any, alerts: Callable[..., int]
) -> None:
    rt = anchor_rt
    created = post(rt, 2)
    anchor_job(rt)
    set_last_seq(w3, rt, 5)  # the registry's head has moved past this batch for good
    for _ in range(4):
        engine(rt)
        mine(w3, 2)
        anchor_job(rt)
    b = batch(rt, 1)
    assert b["status"] == "stuck"
    assert "head is batch 5" in b["stuck_reason"]
    assert [p["status"] for p in payouts_of_batch(rt, 1)] == ["failed"]
    assert alerts("anchor_needs_attention") == 1
    assert get_message(rt, APP, created[0]["message_id"])["anchor"]["status"] == "needs_attention"
    post(rt, 2)
    for _ in range(3):
        tick(rt)
        mine(w3, 2)
    assert batch(rt, 2)["status"] == "claimed"  # waits behind the stuck batch, never sent
    assert payouts_of_batch(rt, 2) == [] and len(payouts_of_batch(rt, 1)) == 1
    assert alerts("anchor_needs_attention") == 1
    assert anchored_events(w3, rt) == []


def test_a_wallet_that_is_not_the_submitter_is_not_retried(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore, token_address: str,
    hot_key: str, engine_clock: FixedClock, alerts: Callable[..., int],
) -> None:
    wallet = Account.from_key(hot_key).address
    bootstrap.fund_native(w3, wallet, 10 * ETH)
    foreign = bootstrap.deploy(w3, "AnchorRegistry", w3.eth.accounts[3])
    settings = engine_settings(
        chain_url, hot_key, token_address, served_store.table,
        ANCHOR_REGISTRY_ADDRESS=foreign, ANCHOR_MAX_AGE_SECONDS="0",
    )
    rt = Runtime(settings, clock=engine_clock, dynamodb_client=served_store.client)
    post(rt, 1)
    settle(rt, w3, rounds=3)
    b = batch(rt, 1)
    assert b["status"] == "stuck" and "not the registry's submitter" in b["stuck_reason"]
    assert len(payouts_of_batch(rt, 1)) == 1
    assert alerts("anchor_needs_attention") == 1


# -- re-org --------------------------------------------------------------------------------------


def test_a_reorg_before_depth_keeps_the_batch_pending_until_it_is_mined_again(
    anchor_rt: Runtime, w3: Any, chain_url: str
) -> None:
    rt = anchor_rt
    created = post(rt, 2)
    anchor_job(rt)
    automine(w3, False)
    engine(rt)  # broadcast, pending
    before = rpc(w3, "evm_snapshot")
    mine(w3, 1)  # mined at depth 0
    engine(rt)
    assert batch(rt, 1)["status"] == "requested"
    assert len(anchored_events(w3, rt)) == 1
    assert rpc(w3, "evm_revert", [before]) is True  # the block that held it is gone
    assert anchored_events(w3, rt) == []
    engine(rt)
    assert batch(rt, 1)["status"] == "requested"
    assert proofs.message_proof(rt, APP, created[0]["message_id"])[0] == 202
    rt.clock.advance(PAST_REBROADCAST_MS)
    engine(rt)  # the same bytes go out again
    automine(w3, True)
    mine(w3, 3)
    engine(rt)
    assert batch(rt, 1)["status"] == "anchored"
    assert len(anchored_events(w3, rt)) == 1
    assert check(rt, chain_url, receipt_of(rt, created[1]["message_id"])) == "valid"


def test_a_receipt_is_refused_when_the_stored_leaves_do_not_rebuild_the_recorded_root(
    anchor_rt: Runtime, w3: Any
) -> None:
    rt = anchor_rt
    created = post(rt, 3)
    settle(rt, w3, rounds=2)
    rt.store.update(batch_key(1), set={"tree_root": merkle.to_hex(bytes(32))})
    with pytest.raises(proofs.LeavesCorrupt):
        proofs.message_proof(rt, APP, created[0]["message_id"])
