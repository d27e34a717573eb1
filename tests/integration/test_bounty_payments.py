"""Bounty payments verified on the local hardhat node, with its accounts as poster and winners.

The poster (account #0) really pays the winners (#1, #2) in the native coin or the test token;
the API checks each transaction on chain. Every refusal leaves the store exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from chalice.test import Client
from hexbytes import HexBytes
from web3.exceptions import Web3RPCError

import app
from chalicelib.bounties import pay
from chalicelib.core.clock import FixedClock
from chalicelib.core.failpoints import InjectedCrash, armed
from chalicelib.core.payments import tx_guard_key
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore
from local import bootstrap
from tests.e2e.test_bounty_api import BountyApi
from tests.integration.payouts import automine, mine
from tests.integration.test_bounty_races import codes, race, sign
from tests.unit.test_signing import ADDRESSES

ETH = 10**18
POSTER, ALICE, BOB, CAROL, DAVE = range(5)
pytestmark = pytest.mark.chain


@pytest.fixture
def chain_rt(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore, token_address: str
) -> Iterator[Runtime]:
    # The service's clock starts at the chain's time, so "mined no earlier than the accept"
    # compares like with like.
    latest = int(w3.eth.get_block("latest")["timestamp"])
    settings = load_settings({
        "TABLE_NAME": served_store.table,
        "CHAIN_RPC_URL": chain_url,
        "CHAIN_ID": "31337",
        "CONFIRMATIONS": "2",
        "TOKEN_ADDRESS": token_address,
    })
    bootstrap.mint(w3, token_address, ADDRESSES[POSTER], 1_000 * ETH)
    rt = Runtime(settings, clock=FixedClock(latest * 1000), dynamodb_client=served_store.client)
    set_runtime(rt)
    yield rt
    set_runtime(None)


@pytest.fixture
def api(chain_rt: Runtime) -> Iterator[BountyApi]:
    assert isinstance(chain_rt.clock, FixedClock)
    with Client(app.app) as client:
        yield BountyApi(client, chain_rt, chain_rt.clock)


def send_native(w3: Any, to: int | str, amount: int, sender: int = POSTER) -> str:
    target = ADDRESSES[to] if isinstance(to, int) else to
    tx = w3.eth.send_transaction({"from": ADDRESSES[sender], "to": target, "value": amount})
    return "0x" + bytes(tx).hex()


def send_token(w3: Any, token: str, to: int, amount: int, sender: int = POSTER) -> str:
    contract = bootstrap.token(w3, token)
    tx = contract.functions.transfer(ADDRESSES[to], amount).transact({"from": ADDRESSES[sender]})
    return "0x" + bytes(tx).hex()


def confirmed(w3: Any, tx: str) -> str:
    mine(w3, 2)
    return tx


def bounty_with_winners(api: BountyApi, winners: list[int], asset: str = "native",
                        reward: str = "2", slots: int | None = None) -> tuple[str, list[str]]:
    bid = api.new_bounty(asset=asset, reward=reward, max_winners=slots or len(winners))["id"]
    sids = [api.new_submission(bid, who) for who in winners]
    for sid in sids:
        status, body = api.accept(bid, sid)
        assert status == 200, body
    return bid, sids


def state(api: BountyApi, bid: str, tx: str) -> list[Any]:
    items, _ = api.rt.store.query(f"bounty#{bid}", consistent=True)
    return [items, api.rt.store.get(**tx_guard_key(tx))]


# -- the whole flow ----------------------------------------------------------------------------


def test_two_winners_paid_in_the_native_coin_make_the_bounty_paid(
    api: BountyApi, w3: Any
) -> None:
    bid = api.new_bounty(reward="2", max_winners=2)["id"]
    alice, bob = api.new_submission(bid, ALICE), api.new_submission(bid, BOB)
    assert api.accept(bid, alice)[0] == 200
    # A winner can be paid as soon as accepted: the second slot is still open.
    before = w3.eth.get_balance(ADDRESSES[ALICE])
    tx_a = confirmed(w3, send_native(w3, ALICE, ETH))
    status, body = api.pay(bid, alice, tx_a)
    assert status == 200, body
    assert (body["bounty"]["status"], body["bounty"]["paid_count"]) == ("partially-filled", 1)
    assert w3.eth.get_balance(ADDRESSES[ALICE]) - before == ETH
    api.clock.advance(1)
    assert api.accept(bid, bob)[0] == 200
    assert api.bounty(bid)["payments"] == [
        {"submission_id": bob, "recipient": ADDRESSES[BOB], "amount": "1", "asset": "native"}
    ]
    tx_b = confirmed(w3, send_native(w3, BOB, ETH))
    status, body = api.pay(bid, bob, tx_b)
    assert status == 200, body
    bounty = api.bounty(bid)
    assert (bounty["status"], bounty["paid_count"], bounty["payments"]) == ("paid", 2, [])
    assert [(w["submitter"], w["payment_tx"]) for w in bounty["winners"]] == [
        (ADDRESSES[ALICE], tx_a), (ADDRESSES[BOB], tx_b)
    ]
    assert all(w["paid_at"] for w in bounty["winners"])
    assert bid in api.all_pages("status=paid")


def test_two_winners_paid_in_the_token_make_the_bounty_paid(
    api: BountyApi, w3: Any, token_address: str
) -> None:
    bid, (alice, bob) = bounty_with_winners(api, [ALICE, BOB], asset=token_address, reward="30")
    for who, sid in ((ALICE, alice), (BOB, bob)):
        tx = confirmed(w3, send_token(w3, token_address, who, 15 * ETH))
        status, body = api.pay(bid, sid, tx)
        assert status == 200, body
    assert api.bounty(bid)["status"] == "paid"


@pytest.mark.parametrize("asset", ["native", "token"])
def test_exactly_the_per_winner_amount_passes_and_one_unit_short_fails(
    api: BountyApi, w3: Any, token_address: str, asset: str
) -> None:
    def send(amount: int) -> str:
        if asset == "native":
            return confirmed(w3, send_native(w3, ALICE, amount))
        return confirmed(w3, send_token(w3, token_address, ALICE, amount))

    bid, (sid,) = bounty_with_winners(
        api, [ALICE], asset="native" if asset == "native" else token_address, reward="3", slots=3
    )
    short = send(ETH - 1)
    before = state(api, bid, short)
    status, body = api.pay(bid, sid, short)
    assert (status, body["error"]) == (422, "amount_too_low")
    assert body["details"] == {
        "tx_hash": short, "paid": "0.999999999999999999", "required": "1",
        "paid_base_units": str(ETH - 1), "required_base_units": str(ETH),
    }
    assert state(api, bid, short) == before
    exact = send(ETH)
    status, body = api.pay(bid, sid, exact)
    assert status == 200, body
    assert body["bounty"]["winners"][0]["payment_tx"] == exact


# -- every refusal changes nothing -----------------------------------------------------------------


def reverted_token_transfer(w3: Any, token: str, to: int, amount: int) -> str:
    """A token transfer that reverts (the token is paused); its mined hash."""
    contract = bootstrap.token(w3, token)
    contract.functions.set_paused(True).transact({"from": ADDRESSES[POSTER]})
    try:
        tx = contract.functions.transfer(ADDRESSES[to], amount).transact(
            {"from": ADDRESSES[POSTER], "gas": 200_000}
        )
    except Web3RPCError as exc:  # hardhat reports the failure, with the mined hash
        tx = HexBytes(exc.rpc_response["error"]["data"]["txHash"])  # type: ignore[index]
    contract.functions.set_paused(False).transact({"from": ADDRESSES[POSTER]})
    return "0x" + bytes(tx).hex()


def make_failure(case: str, api: BountyApi, w3: Any, token: str) -> tuple[str, str, str]:
    """A bounty with Alice as winner and a transaction that fails to pay her as `case` says."""
    asset = token if case in ("tx_failed", "token_paid_in_native") else "native"
    bid, (sid,) = bounty_with_winners(api, [ALICE], asset=asset, reward="1")
    if case == "tx_not_found":
        return bid, sid, "0x" + "42" * 32
    if case == "tx_not_confirmed":
        return bid, sid, send_native(w3, ALICE, ETH)  # mined, but nothing on top yet
    if case == "tx_pending":
        automine(w3, False)
        return bid, sid, send_native(w3, ALICE, ETH)
    if case == "tx_failed":
        return bid, sid, confirmed(w3, reverted_token_transfer(w3, token, ALICE, ETH))
    if case == "wrong_sender":
        return bid, sid, confirmed(w3, send_native(w3, ALICE, ETH, sender=CAROL))
    if case == "wrong_recipient":
        return bid, sid, confirmed(w3, send_native(w3, DAVE, ETH))
    if case == "wrong_asset":
        return bid, sid, confirmed(w3, send_token(w3, token, ALICE, ETH))
    if case == "token_paid_in_native":
        return bid, sid, confirmed(w3, send_native(w3, ALICE, ETH))
    if case == "amount_too_low":
        return bid, sid, confirmed(w3, send_native(w3, ALICE, ETH // 2))
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("tx_not_found", "tx_not_found"),
        ("tx_not_confirmed", "tx_not_confirmed"),
        ("tx_pending", "tx_not_confirmed"),
        ("tx_failed", "tx_failed"),
        ("wrong_sender", "wrong_sender"),
        ("wrong_recipient", "wrong_recipient"),
        ("wrong_asset", "wrong_asset"),
        ("token_paid_in_native", "wrong_asset"),
        ("amount_too_low", "amount_too_low"),
    ],
)
def test_every_verification_failure_is_a_422_with_its_code_and_changes_nothing(
    api: BountyApi, w3: Any, token_address: str, case: str, code: str
) -> None:
    bid, sid, tx = make_failure(case, api, w3, token_address)
    before = state(api, bid, tx)
    status, body = api.pay(bid, sid, tx)
    assert (status, body["error"]) == (422, code), body
    assert state(api, bid, tx) == before
    assert api.bounty(bid)["payments"][0]["submission_id"] == sid


def mined_at(w3: Any, tx: str) -> int:
    return int(w3.eth.get_block(w3.eth.get_transaction(tx)["blockNumber"])["timestamp"])


def chain_time_to(w3: Any, seconds: int) -> None:
    """Mine the next block at exactly `seconds` (the chain's clock, not the service's)."""
    w3.provider.make_request("evm_setNextBlockTimestamp", [seconds])
    w3.provider.make_request("evm_mine", [])


def test_a_payment_mined_over_60_seconds_before_the_accept_is_too_old(
    api: BountyApi, w3: Any
) -> None:
    bid = api.new_bounty(reward="2", max_winners=2)["id"]
    alice, bob = api.new_submission(bid, ALICE), api.new_submission(bid, BOB)
    early_a = confirmed(w3, send_native(w3, ALICE, ETH))
    early_b = confirmed(w3, send_native(w3, BOB, ETH))
    mined_a, mined_b = mined_at(w3, early_a), mined_at(w3, early_b)
    assert mined_b - mined_a < 60
    chain_time_to(w3, mined_a + 60)  # accepted exactly 60 s after Alice was paid (chain time)
    assert api.accept(bid, alice)[0] == 200
    chain_time_to(w3, mined_b + 61)  # over 60 s after Bob was paid
    assert api.accept(bid, bob)[0] == 200
    assert api.pay(bid, alice, early_a)[0] == 200
    before = state(api, bid, early_b)
    status, body = api.pay(bid, bob, early_b)
    assert (status, body["error"]) == (422, "tx_too_old")
    assert state(api, bid, early_b) == before


def test_a_chain_clock_ahead_of_the_service_cannot_let_an_early_payment_pass(
    api: BountyApi, w3: Any
) -> None:
    bid = api.new_bounty(reward="1", max_winners=1)["id"]
    alice = api.new_submission(bid, ALICE)
    early = confirmed(w3, send_native(w3, ALICE, ETH))
    paid = mined_at(w3, early)
    # The chain's clock runs 120 s ahead of the service's (hardhat did, by 53-128 s). 100 s after
    # the payment the poster accepts: by the service's clock that is 20 s *before* the payment.
    chain_time_to(w3, paid + 100)
    api.clock.set((paid + 100 - 120) * 1000)
    assert api.accept(bid, alice)[0] == 200
    winner = api.rt.store.get(f"bounty#{bid}", f"winner#{alice}")
    assert winner is not None and winner["accepted_block_time"] == (paid + 100) * 1000
    assert winner["accepted_block"] == w3.eth.block_number
    status, body = api.pay(bid, alice, early)
    assert (status, body["error"]) == (422, "tx_too_old")


# -- one transaction, one winner ---------------------------------------------------------------


def test_one_transaction_cannot_pay_two_winners(api: BountyApi, w3: Any) -> None:
    # Alice wins two bounties of the same poster for the same amount: one transfer is one
    # payment, not two.
    first, (s1,) = bounty_with_winners(api, [ALICE], reward="1")
    second, (s2,) = bounty_with_winners(api, [ALICE], reward="1")
    tx = confirmed(w3, send_native(w3, ALICE, ETH))
    assert api.pay(first, s1, tx)[0] == 200
    before = state(api, second, tx)
    status, body = api.pay(second, s2, tx)
    assert (status, body["error"]) == (409, "tx_already_used")
    assert body["details"] == {"used_for": f"bounty:{first}:{s1}"}
    assert state(api, second, tx) == before


def test_concurrent_payments_for_one_winner_record_exactly_one(
    chain_rt: Runtime, w3: Any, api: BountyApi
) -> None:
    bid, (sid,) = bounty_with_winners(api, [ALICE], reward="2", slots=2)
    txs = [send_native(w3, ALICE, ETH) for _ in range(4)]
    mine(w3, 2)
    bodies = [
        sign(chain_rt, "record_payment",
             {"poster": ADDRESSES[POSTER], "submission_id": sid, "tx_hash": tx}, POSTER, bid)
        for tx in txs
    ]
    assert chain_rt.chain is not None  # built before the threads share it
    results = race([partial(pay.record_payment, chain_rt, bid, b) for b in bodies])
    assert codes(results) == ["already_paid"] * 3 + ["ok"]
    bounty = api.bounty(bid)
    assert bounty["paid_count"] == 1
    used = [tx for tx in txs if chain_rt.store.get(**tx_guard_key(tx)) is not None]
    assert used == [bounty["winners"][0]["payment_tx"]]


def test_concurrent_records_of_one_transaction_for_two_bounties_pass_once(
    chain_rt: Runtime, w3: Any, api: BountyApi
) -> None:
    first, (s1,) = bounty_with_winners(api, [ALICE], reward="1")
    second, (s2,) = bounty_with_winners(api, [ALICE], reward="1")
    tx = confirmed(w3, send_native(w3, ALICE, ETH))
    bodies = [
        (bid, sign(chain_rt, "record_payment",
                   {"poster": ADDRESSES[POSTER], "submission_id": sid, "tx_hash": tx},
                   POSTER, bid))
        for bid, sid in ((first, s1), (second, s2))
    ]
    assert chain_rt.chain is not None
    results = race([partial(pay.record_payment, chain_rt, bid, b) for bid, b in bodies])
    assert codes(results) == ["ok", "tx_already_used"]
    assert api.bounty(first)["paid_count"] + api.bounty(second)["paid_count"] == 1


def test_a_crash_after_the_chain_check_records_nothing_and_the_same_request_succeeds_later(
    chain_rt: Runtime, w3: Any, api: BountyApi
) -> None:
    bid, (sid,) = bounty_with_winners(api, [ALICE], reward="1")
    tx = confirmed(w3, send_native(w3, ALICE, ETH))
    body = sign(chain_rt, "record_payment",
                {"poster": ADDRESSES[POSTER], "submission_id": sid, "tx_hash": tx}, POSTER, bid)
    before = state(api, bid, tx)
    with armed("bounty_payment_verified"), pytest.raises(InjectedCrash):
        pay.record_payment(chain_rt, bid, dict(body))
    assert state(api, bid, tx) == before
    after = pay.record_payment(chain_rt, bid, dict(body))  # the signature was not used up
    assert (after["status"], after["winners"][0]["payment_tx"]) == ("paid", tx)
