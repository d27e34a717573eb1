"""The offline verifier against the hardhat node: a real receipt is valid, and every forgery or
shortcut is rejected with a reason (wrong contract, wrong chain, a reverted transaction, a root
that is only in calldata, a proof before depth, any tampered field)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hexbytes import HexBytes

from chalicelib.anchoring import merkle, verify
from chalicelib.anchoring.registry import anchor_calldata
from chalicelib.core.artifacts import load_abi
from chalicelib.core.runtime import Runtime
from local import bootstrap
from local.processes import HOST, ROOT, free_port
from tests.integration import test_anchor_onchain as onchain
from tests.integration.payouts import mine
from tests.integration.test_anchor_onchain import (
    anchor_rt,  # noqa: F401 - fixture, used by name
    check,
    post,
    receipt_of,
    registry_of,
    settle,
)

Receipt = dict[str, Any]
REVERT_GAS = 200_000


@pytest.fixture
def receipt(anchor_rt: Runtime, w3: Any) -> Receipt:  # noqa: F811 - the imported fixture
    created = post(anchor_rt, 5)
    settle(anchor_rt, w3, rounds=2)
    return receipt_of(anchor_rt, created[3]["message_id"])


def sent(w3: Any, tx: dict[str, Any]) -> Any:
    """Mine `tx` (from an unlocked account) and return its receipt, reverted or not."""
    try:
        tx_hash = w3.eth.send_transaction(tx)
    except Exception as exc:  # hardhat reports a mined revert as an error carrying the hash
        data = (getattr(exc, "rpc_response", None) or {}).get("error", {}).get("data", {})
        assert isinstance(data, dict) and "txHash" in data, exc
        tx_hash = HexBytes(data["txHash"])
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)


def pointing_at(receipt: Receipt, tx: Any, log_index: int = 0) -> Receipt:
    """The same proof, claiming to be anchored by another transaction."""
    forged = copy.deepcopy(receipt)
    forged["anchor"].update(
        tx_hash="0x" + bytes(tx["transactionHash"]).hex(),
        block_number=tx["blockNumber"],
        block_hash="0x" + bytes(tx["blockHash"]).hex(),
        log_index=log_index,
    )
    return forged


def calldata_of(receipt: Receipt) -> str:
    b = receipt["batch"]
    return anchor_calldata(
        int(b["seq"]), merkle.from_hex32(b["prev"]), merkle.from_hex32(b["root"]),
        receipt["tree_size"],
    )


# -- valid, and the CLI ----------------------------------------------------------------------------


def cli(chain_url: str, receipt: Any, tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    """Run the verifier as a user would; (exit code, printed lines)."""
    path = tmp_path / "receipt.json"
    path.write_text(receipt if isinstance(receipt, str) else json.dumps(receipt))
    proc = subprocess.run(
        [sys.executable, "-m", "chalicelib.anchoring.verify", str(path), "--rpc", chain_url, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    return proc.returncode, proc.stdout.splitlines()


def pinned(rt: Runtime) -> tuple[str, ...]:
    return ("--contract", registry_of(rt), "--chain-id", "31337")


def look_alike(w3: Any, receipt: Receipt) -> tuple[str, Receipt]:
    """A registry anyone can deploy, holding the same proof re-rooted to bind it (consistent)."""
    other = bootstrap.deploy(w3, "AnchorRegistry", w3.eth.accounts[0])
    forged = copy.deepcopy(receipt)
    forged["anchor"]["contract"] = other
    b = forged["batch"]
    b["root"] = merkle.to_hex(merkle.batch_root(
        31337, other, int(b["seq"]), merkle.from_hex32(b["prev"]), forged["tree_size"],
        merkle.from_hex32(b["tree_root"]),
    ))
    tx = sent(w3, {"from": w3.eth.accounts[0], "to": other, "data": calldata_of(forged)})
    assert tx["status"] == 1 and len(tx["logs"]) == 1
    mine(w3, 3)
    return other, pointing_at(forged, tx)


def test_exit_0_valid_with_pins_prints_block_number_time_and_finality(
    anchor_rt: Runtime, chain_url: str, receipt: Receipt, tmp_path: Path, w3: Any,  # noqa: F811
) -> None:
    code, lines = cli(chain_url, receipt, tmp_path, *pinned(anchor_rt))
    assert (code, lines[0]) == (0, "valid"), lines
    facts = dict(line.split(": ", 1) for line in lines[1:])
    number = receipt["anchor"]["block_number"]
    assert facts["block"] == f"{number} ({receipt['anchor']['block_hash']})"
    stamp = w3.eth.get_block(number)["timestamp"]
    assert facts["block time"].endswith(f"(unix {stamp})")
    assert facts["confirmations"] == str(w3.eth.block_number - number + 1)
    assert facts["finality"].startswith(("final", "not final yet", "unknown"))


def test_exit_1_invalid_for_a_tampered_receipt_with_the_reason(
    anchor_rt: Runtime, chain_url: str, receipt: Receipt, tmp_path: Path,  # noqa: F811
) -> None:
    tampered = copy.deepcopy(receipt)
    tampered["leaf"]["fields"]["content_hash"] = "0x" + "ee" * 32
    code, lines = cli(chain_url, tampered, tmp_path, *pinned(anchor_rt))
    assert (code, lines) == (1, ["invalid: the leaf hash does not match the record's fields"])


def test_exit_2_could_not_check_when_the_rpc_is_down_or_the_file_unreadable(
    anchor_rt: Runtime, chain_url: str, receipt: Receipt, tmp_path: Path,  # noqa: F811
) -> None:
    dead = f"http://{HOST}:{free_port()}"
    code, lines = cli(dead, receipt, tmp_path, *pinned(anchor_rt))
    assert code == 2 and lines[0].startswith("could not check: the RPC endpoint failed"), lines
    code, lines = cli(chain_url, "{not json", tmp_path, *pinned(anchor_rt))
    assert code == 2 and lines[0].startswith("could not check: cannot read"), lines
    missing = verify.main([str(tmp_path / "missing.json"), "--rpc", chain_url, *pinned(anchor_rt)])
    assert missing == 2


def test_exit_3_valid_unpinned_without_pins_and_never_plain_valid(
    anchor_rt: Runtime, chain_url: str, receipt: Receipt, tmp_path: Path,  # noqa: F811
) -> None:
    code, lines = cli(chain_url, receipt, tmp_path)
    assert code == 3 and lines[0].startswith("valid (unpinned): proven against the registry")
    assert any(line.startswith("block time: ") for line in lines)


def test_a_receipt_forged_with_a_look_alike_registry_is_never_called_valid(
    anchor_rt: Runtime, w3: Any, chain_url: str, receipt: Receipt, tmp_path: Path,  # noqa: F811
) -> None:
    other, forged = look_alike(w3, receipt)
    code, lines = cli(chain_url, forged, tmp_path)
    assert code == 3
    assert lines[0].startswith(f"valid (unpinned): proven against the registry {other}")
    code, lines = cli(chain_url, forged, tmp_path, *pinned(anchor_rt))
    assert (code, lines[0]) == (
        1, f"invalid: the receipt names contract {other}, not the pinned registry "
        f"{registry_of(anchor_rt)}",
    )
    # The operator's published /v1/info works as a trust file and pins the same way.
    info = tmp_path / "info.json"
    info.write_text(json.dumps({"chain_id": 31337,
                                "contracts": {"anchor_registry": registry_of(anchor_rt)}}))
    assert cli(chain_url, forged, tmp_path, "--trust", str(info))[0] == 1
    assert cli(chain_url, receipt, tmp_path, "--trust", str(info))[0] == 0


def test_pins_must_come_together_and_a_bad_trust_file_cannot_check(
    anchor_rt: Runtime, chain_url: str, receipt: Receipt, tmp_path: Path,  # noqa: F811
) -> None:
    code, _ = cli(chain_url, receipt, tmp_path, "--contract", registry_of(anchor_rt))
    assert code == 2  # a usage error: a registry without its chain pins nothing
    with pytest.raises(SystemExit) as exc:
        verify.main([str(tmp_path / "x.json"), "--rpc", chain_url, "--contract", "0x12"])
    assert exc.value.code == 2
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({"chain_id": 31337}))
    code, lines = cli(chain_url, receipt, tmp_path, "--trust", str(trust))
    assert code == 2 and "names no registry" in lines[0]


def test_version_1_receipts_with_integer_seqs_still_verify(
    anchor_rt: Runtime, chain_url: str, receipt: Receipt  # noqa: F811
) -> None:
    assert isinstance(receipt["leaf"]["fields"]["seq"], str) and receipt["version"] == 2
    old = copy.deepcopy(receipt)
    old["version"] = 1
    old["leaf"]["fields"]["seq"] = int(receipt["leaf"]["fields"]["seq"])
    old["batch"]["seq"] = int(receipt["batch"]["seq"])
    assert check(anchor_rt, chain_url, old) == "valid"
    for bad in ("01", "1.0", "-1", " 1"):
        odd = copy.deepcopy(receipt)
        odd["batch"]["seq"] = bad
        assert check(anchor_rt, chain_url, odd).startswith("invalid: malformed receipt: seq")


# -- what the issue names ------------------------------------------------------------------------


def test_a_receipt_for_another_contract_is_rejected(
    anchor_rt: Runtime, w3: Any, chain_url: str, receipt: Receipt  # noqa: F811
) -> None:
    rt = anchor_rt
    # A look-alike registry anyone can deploy, with the very same batch anchored in it.
    other = bootstrap.deploy(w3, "AnchorRegistry", w3.eth.accounts[0])
    tx = sent(w3, {"from": w3.eth.accounts[0], "to": other, "data": calldata_of(receipt)})
    assert tx["status"] == 1 and len(tx["logs"]) == 1
    mine(w3, 3)
    forged = pointing_at(receipt, tx)
    assert check(rt, chain_url, forged) == (
        f"invalid: the log at index 0 was not emitted by the registry {registry_of(rt).lower()}"
    )
    # Naming the look-alike as the contract breaks the batch root (it binds the contract) ...
    renamed = copy.deepcopy(forged)
    renamed["anchor"]["contract"] = other
    assert check(rt, chain_url, renamed, contract=None) == (
        "invalid: the batch root does not match its chain, contract, seq, prev, size and tree root"
    )
    # ... and a pinned verifier refuses it before anything else.
    assert check(rt, chain_url, renamed).startswith("invalid: the receipt names contract")


def test_a_receipt_for_another_chain_is_rejected(
    anchor_rt: Runtime, chain_url: str, receipt: Receipt  # noqa: F811
) -> None:
    rt = anchor_rt
    assert check(rt, chain_url, receipt, chain_id=1) == (
        "invalid: the receipt is for chain 31337, not the pinned chain 1"
    )
    # A receipt made self-consistent for chain 1 still has to be on chain 1.
    other = copy.deepcopy(receipt)
    other["anchor"]["chain"] = "eip155:1"
    b = other["batch"]
    other["batch"]["root"] = merkle.to_hex(merkle.batch_root(
        1, other["anchor"]["contract"], int(b["seq"]), merkle.from_hex32(b["prev"]),
        other["tree_size"], merkle.from_hex32(b["tree_root"]),
    ))
    assert check(rt, chain_url, other, chain_id=None) == (
        "invalid: the RPC endpoint serves chain 31337, the receipt is for chain 1"
    )


def test_a_reverted_anchor_transaction_is_rejected(
    anchor_rt: Runtime, w3: Any, chain_url: str, receipt: Receipt  # noqa: F811
) -> None:
    rt = anchor_rt
    # The registry refuses anyone but the submitter: the same call from another account reverts.
    tx = sent(w3, {
        "from": w3.eth.accounts[5], "to": registry_of(rt), "data": calldata_of(receipt),
        "gas": REVERT_GAS,
    })
    assert tx["status"] == 0
    mine(w3, 3)
    assert check(rt, chain_url, pointing_at(receipt, tx)) == (
        "invalid: the anchor transaction reverted (status 0)"
    )


def test_a_root_that_is_only_in_calldata_is_rejected(
    anchor_rt: Runtime, w3: Any, chain_url: str, receipt: Receipt  # noqa: F811
) -> None:
    rt = anchor_rt
    # A successful transaction whose input carries the exact anchor call, but no registry saw it.
    tx = sent(w3, {
        "from": w3.eth.accounts[0], "to": w3.eth.accounts[6], "data": calldata_of(receipt),
    })
    assert tx["status"] == 1 and tx["logs"] == []
    calldata = w3.eth.get_transaction(tx["transactionHash"])["input"].hex()
    assert receipt["batch"]["root"][2:] in calldata
    mine(w3, 3)
    assert check(rt, chain_url, pointing_at(receipt, tx)) == (
        "invalid: the anchor transaction has no log at index 0"
    )


def test_a_proof_before_depth_is_rejected_until_the_blocks_are_there(
    anchor_rt: Runtime, w3: Any, chain_url: str, receipt: Receipt  # noqa: F811
) -> None:
    rt = anchor_rt
    # Counted as wallets count: the including block is confirmation 1.
    depth = w3.eth.block_number - receipt["anchor"]["block_number"] + 1
    assert check(rt, chain_url, receipt, min_confirmations=depth) == "valid"
    assert check(rt, chain_url, receipt, min_confirmations=depth + 1) == (
        f"invalid: only {depth} confirmations, {depth + 1} required"
    )
    mine(w3, 1)
    assert check(rt, chain_url, receipt, min_confirmations=depth + 1) == "valid"


def test_a_transaction_seen_before_it_was_mined_is_rejected(
    anchor_rt: Runtime, w3: Any, chain_url: str, receipt: Receipt  # noqa: F811
) -> None:
    rt = anchor_rt
    onchain.automine(w3, False)
    pending = w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": w3.eth.accounts[6], "data": calldata_of(receipt)}
    )
    forged = copy.deepcopy(receipt)
    forged["anchor"]["tx_hash"] = "0x" + bytes(pending).hex()
    assert check(rt, chain_url, forged) == (
        "invalid: the anchor transaction is not on this chain (never mined, or re-organised)"
    )


# -- tampering with any part -----------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[Receipt], None]:
    def apply(r: Receipt) -> None:
        *parents, last = path.split(".")
        target: Any = r
        for p in parents:
            target = target[int(p)] if isinstance(target, list) else target[p]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return apply


TAMPERS = {
    "a field of the record": (_set("leaf.fields.sender", "mallory"), "the leaf hash does not"),
    "the seq": (_set("leaf.fields.seq", 1), "the leaf hash does not"),
    "the leaf hash": (_set("leaf.hash", "0x" + "11" * 32), "the leaf hash does not"),
    "a path hash": (_set("path.0", "0x" + "22" * 32), "the audit path does not lead"),
    "the index": (_set("index", 2), "the audit path does not lead"),
    "the tree size": (_set("tree_size", 6), "the batch root does not match"),
    "the tree root": (_set("batch.tree_root", "0x" + "33" * 32), "the audit path does not lead"),
    "prev": (_set("batch.prev", "0x" + "44" * 32), "the batch root does not match"),
    "the batch seq": (_set("batch.seq", 2), "the batch root does not match"),
    "the batch root": (_set("batch.root", "0x" + "55" * 32), "the batch root does not match"),
    "the tx hash": (_set("anchor.tx_hash", "0x" + "66" * 32), "the anchor transaction is not on"),
    "the block hash": (_set("anchor.block_hash", "0x" + "77" * 32), "not in the receipt's block"),
    "the block number": (_set("anchor.block_number", 1), "not in the receipt's block"),
    "the log index": (_set("anchor.log_index", 3), "no log at index 3"),
    "the version": (_set("version", 3), "unsupported receipt version"),
    "a missing path": (lambda r: r.pop("path"), "malformed receipt: path"),
    "a short hash": (_set("batch.prev", "0x12"), "malformed receipt: prev"),
    "a boolean index": (_set("index", True), "malformed receipt: index"),
    "a chain that is no chain": (_set("anchor.chain", "1"), "malformed receipt: anchor.chain"),
}


def test_tampering_with_any_part_of_a_receipt_is_rejected_with_a_reason(
    anchor_rt: Runtime, chain_url: str, receipt: Receipt  # noqa: F811
) -> None:
    assert check(anchor_rt, chain_url, receipt) == "valid"
    for what, (tamper, reason) in TAMPERS.items():
        forged = copy.deepcopy(receipt)
        tamper(forged)
        result = check(anchor_rt, chain_url, forged)
        assert result.startswith("invalid: ") and reason in result, (what, result)
    assert check(anchor_rt, chain_url, "not an object").startswith("invalid: malformed receipt")


def test_an_unreachable_rpc_endpoint_is_never_valid(
    anchor_rt: Runtime, receipt: Receipt  # noqa: F811
) -> None:
    dead = verify.JsonRpc(f"http://{HOST}:{free_port()}", timeout=2)
    result = verify.verify(receipt, dead, contract=registry_of(anchor_rt), chain_id=31337)
    assert result.startswith("could not check: the RPC endpoint failed")


def test_the_registry_abi_still_has_the_event_the_verifier_reads() -> None:
    names = {e.get("name") for e in load_abi("AnchorRegistry")}
    assert {"anchor", "Anchored", "last_seq", "last_root", "submitter"} <= names
