"""Behaviour of the Vyper contracts on a real hardhat node (via the `w3` fixture)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import Web3RPCError

BUILD_DIR = Path(__file__).resolve().parents[2] / "contracts" / "build"
ZERO32 = b"\x00" * 32
ANCHOR_GAS_TARGET = 35_000
# Explicit gas skips eth_estimateGas, so a reverting call is really mined.
REVERT_GAS = 200_000


def _deploy(w3: Web3, name: str, *args: Any) -> Contract:
    artifact = json.loads((BUILD_DIR / f"{name}.json").read_text())
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(*args).transact({"from": w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=30)
    return w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"])


def _mined(w3: Web3, fn: Any, sender: str) -> Any:
    tx = fn.transact({"from": sender})
    return w3.eth.wait_for_transaction_receipt(tx, timeout=30)


def _reverted_receipt(w3: Web3, fn: Any, sender: str) -> Any:
    """Send a call expected to revert; return its mined receipt.

    Hardhat answers a failing eth_sendTransaction with an RPC error carrying the
    mined txHash; other nodes just return the hash. Accept both.
    """
    try:
        tx = fn.transact({"from": sender, "gas": REVERT_GAS})
    except Web3RPCError as exc:
        data = (
            exc.rpc_response.get("error", {}).get("data", {})
            if exc.rpc_response
            else {}
        )
        assert isinstance(data, dict) and "txHash" in data, f"not mined: {exc}"
        tx = HexBytes(data["txHash"])
    return w3.eth.wait_for_transaction_receipt(tx, timeout=30)


def _root(i: int) -> bytes:
    return bytes(Web3.keccak(text=f"root-{i}"))


@pytest.fixture
def token(w3: Web3) -> Contract:
    return _deploy(w3, "TestToken", "Community", "COM", 18)


@pytest.fixture
def registry(w3: Web3) -> Contract:
    return _deploy(w3, "AnchorRegistry", w3.eth.accounts[0])


@pytest.fixture
def anchor_chain(w3: Web3, registry: Contract) -> Callable[[int], list[Any]]:
    """Anchor batches 1..n as a valid chain; return their receipts."""

    def run(n: int) -> list[Any]:
        receipts, prev = [], ZERO32
        for seq in range(1, n + 1):
            fn = registry.functions.anchor(seq, prev, _root(seq), 1000 * seq)
            receipts.append(_mined(w3, fn, w3.eth.accounts[0]))
            prev = _root(seq)
        return receipts

    return run


# --- TestToken ---------------------------------------------------------------


def test_token_reports_its_metadata_and_deployer_as_minter(
    w3: Web3, token: Contract
) -> None:
    assert token.functions.name().call() == "Community"
    assert token.functions.symbol().call() == "COM"
    assert token.functions.decimals().call() == 18
    assert token.functions.minter().call() == w3.eth.accounts[0]


def test_minter_can_mint_and_mint_emits_transfer_from_zero(
    w3: Web3, token: Contract
) -> None:
    holder = w3.eth.accounts[1]
    receipt = _mined(w3, token.functions.mint(holder, 500), w3.eth.accounts[0])
    (event,) = token.events.Transfer().process_receipt(receipt)
    assert event.args.sender == "0x" + "00" * 20
    assert (event.args.receiver, event.args.value) == (holder, 500)
    assert token.functions.balanceOf(holder).call() == 500
    assert token.functions.totalSupply().call() == 500


def test_mint_by_anyone_but_the_minter_reverts(w3: Web3, token: Contract) -> None:
    outsider = w3.eth.accounts[1]
    receipt = _reverted_receipt(w3, token.functions.mint(outsider, 1), outsider)
    assert receipt.status == 0
    assert token.functions.totalSupply().call() == 0


def test_transfer_moves_balance_and_emits_a_standard_transfer_event(
    w3: Web3, token: Contract
) -> None:
    alice, bob = w3.eth.accounts[1], w3.eth.accounts[2]
    _mined(w3, token.functions.mint(alice, 100), w3.eth.accounts[0])
    receipt = _mined(w3, token.functions.transfer(bob, 30), alice)
    assert receipt.status == 1
    assert token.functions.balanceOf(alice).call() == 70
    assert token.functions.balanceOf(bob).call() == 30
    # topic0 must match the ERC-20 standard so generic indexers decode it.
    (log,) = receipt.logs
    assert log.topics[0] == Web3.keccak(text="Transfer(address,address,uint256)")
    (event,) = token.events.Transfer().process_receipt(receipt)
    assert (event.args.sender, event.args.receiver, event.args.value) == (
        alice,
        bob,
        30,
    )


def test_transfer_from_spends_the_allowance(w3: Web3, token: Contract) -> None:
    alice, spender, bob = w3.eth.accounts[1:4]
    _mined(w3, token.functions.mint(alice, 100), w3.eth.accounts[0])
    receipt = _mined(w3, token.functions.approve(spender, 40), alice)
    (log,) = receipt.logs
    assert log.topics[0] == Web3.keccak(text="Approval(address,address,uint256)")
    _mined(w3, token.functions.transferFrom(alice, bob, 25), spender)
    assert token.functions.allowance(alice, spender).call() == 15
    assert token.functions.balanceOf(bob).call() == 25


def test_transfer_while_paused_reverts(w3: Web3, token: Contract) -> None:
    alice, bob = w3.eth.accounts[1], w3.eth.accounts[2]
    _mined(w3, token.functions.mint(alice, 100), w3.eth.accounts[0])
    _mined(w3, token.functions.approve(bob, 100), alice)
    _mined(w3, token.functions.set_paused(True), w3.eth.accounts[0])
    assert _reverted_receipt(w3, token.functions.transfer(bob, 1), alice).status == 0
    assert (
        _reverted_receipt(w3, token.functions.transferFrom(alice, bob, 1), bob).status
        == 0
    )
    assert token.functions.balanceOf(alice).call() == 100
    _mined(w3, token.functions.set_paused(False), w3.eth.accounts[0])
    assert _mined(w3, token.functions.transfer(bob, 1), alice).status == 1


def test_only_the_minter_can_pause(w3: Web3, token: Contract) -> None:
    outsider = w3.eth.accounts[1]
    assert _reverted_receipt(w3, token.functions.set_paused(True), outsider).status == 0
    assert token.functions.paused().call() is False


def test_transfer_beyond_balance_reverts(w3: Web3, token: Contract) -> None:
    alice, bob = w3.eth.accounts[1], w3.eth.accounts[2]
    _mined(w3, token.functions.mint(alice, 10), w3.eth.accounts[0])
    assert _reverted_receipt(w3, token.functions.transfer(bob, 11), alice).status == 0
    assert token.functions.balanceOf(alice).call() == 10


# --- AnchorRegistry ----------------------------------------------------------


def test_anchor_from_an_unauthorised_caller_is_rejected(
    w3: Web3, registry: Contract
) -> None:
    fn = registry.functions.anchor(1, ZERO32, _root(1), 1)
    assert _reverted_receipt(w3, fn, w3.eth.accounts[1]).status == 0
    assert registry.functions.last_seq().call() == 0


def test_anchor_with_wrong_seq_is_rejected(
    w3: Web3, registry: Contract, anchor_chain: Callable[[int], list[Any]]
) -> None:
    anchor_chain(1)
    for seq in (1, 3):  # replay and gap
        fn = registry.functions.anchor(seq, _root(1), _root(2), 1)
        assert _reverted_receipt(w3, fn, w3.eth.accounts[0]).status == 0
    assert registry.functions.last_seq().call() == 1


def test_first_anchor_with_nonzero_prev_is_rejected(
    w3: Web3, registry: Contract
) -> None:
    fn = registry.functions.anchor(1, _root(0), _root(1), 1)
    assert _reverted_receipt(w3, fn, w3.eth.accounts[0]).status == 0


def test_anchor_with_wrong_prev_is_rejected(
    w3: Web3, registry: Contract, anchor_chain: Callable[[int], list[Any]]
) -> None:
    anchor_chain(1)
    fn = registry.functions.anchor(2, _root(99), _root(2), 1)
    assert _reverted_receipt(w3, fn, w3.eth.accounts[0]).status == 0
    assert registry.functions.last_root().call() == _root(1)


def test_a_valid_chain_of_three_anchors_succeeds_and_updates_the_head(
    w3: Web3, registry: Contract, anchor_chain: Callable[[int], list[Any]]
) -> None:
    receipts = anchor_chain(3)
    assert [r.status for r in receipts] == [1, 1, 1]
    assert registry.functions.last_seq().call() == 3
    assert registry.functions.last_root().call() == _root(3)
    assert registry.functions.submitter().call() == w3.eth.accounts[0]


def test_anchored_event_topics_are_signature_seq_and_root_and_data_is_size_and_prev(
    registry: Contract, anchor_chain: Callable[[int], list[Any]]
) -> None:
    receipts = anchor_chain(2)
    (log,) = receipts[1].logs
    assert log.address == registry.address
    assert log.topics == [
        Web3.keccak(text="Anchored(uint256,bytes32,uint256,bytes32)"),
        HexBytes((2).to_bytes(32, "big")),
        HexBytes(_root(2)),
    ]
    assert decode(["uint256", "bytes32"], bytes(log.data)) == (2000, _root(1))


def test_anchors_after_the_first_stay_within_the_gas_target(
    anchor_chain: Callable[[int], list[Any]],
) -> None:
    first, second, third = (r.gasUsed for r in anchor_chain(3))
    assert second <= ANCHOR_GAS_TARGET, (first, second, third)
    assert third <= ANCHOR_GAS_TARGET, (first, second, third)
