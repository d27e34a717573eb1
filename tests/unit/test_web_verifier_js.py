"""The pages' keccak and receipt checks (run in Node, as the browser runs them) agree with Python.

Keccak is checked against eth_hash on the known vectors and every length around the 136-byte
rate; the proof checks give the same verdict as chalicelib/anchoring/verify.py on a valid
receipt and on each kind of tampering. (The on-chain half runs in the browser test.)
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from chalicelib.anchoring import merkle, verify
from chalicelib.web.assets import STATIC

NODE = shutil.which("node")  # installed by `make setup` for the hardhat node


def run_js(tmp_path: Path, script: str, payload: Any) -> Any:
    for name in ("keccak.js", "verify.js"):
        shutil.copy(STATIC / name, tmp_path / name)
    (tmp_path / "package.json").write_text('{"type": "module"}')
    (tmp_path / "main.js").write_text(script)
    out = subprocess.run(  # noqa: S603 - node on our own files
        [NODE or "node", str(tmp_path / "main.js")], input=json.dumps(payload), text=True,
        capture_output=True, check=True, timeout=60,
    )
    return json.loads(out.stdout)


KECCAK_JS = """
import { keccak256, toHex, fromHex } from "./keccak.js";
let s = ""; for await (const c of process.stdin) s += c;
console.log(JSON.stringify(JSON.parse(s).map((h) => toHex(keccak256(fromHex(h))))));
"""


def test_keccak_matches_eth_hash_on_vectors_and_every_length_around_the_rate(
    tmp_path: Path,
) -> None:
    inputs = [b"", b"abc", bytes(range(256)) * 3]
    inputs += [bytes((i * 7 + n) % 256 for i in range(n)) for n in range(0, 300)]
    got = run_js(tmp_path, KECCAK_JS, ["0x" + b.hex() for b in inputs])
    assert got == ["0x" + keccak(b).hex() for b in inputs]
    assert got[1] == "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"


PROOF_JS = """
import { checkProof } from "./verify.js";
let s = ""; for await (const c of process.stdin) s += c;
console.log(JSON.stringify(JSON.parse(s).map(({ receipt, contract, chain }) => {
  try { checkProof(receipt, contract, chain); return "valid"; }
  catch (e) { return `invalid: ${e.message}`; }
})));
"""
CONTRACT = "0x" + "5f" * 20


def _receipt(size: int, index: int) -> dict[str, Any]:
    fields = [{"message_id": f"msg_{i}", "conversation_id": "room-1",
               "sender": "<img src=x onerror=alert(1)>" if i == index else "alice",
               "sent_at": "2026-09-21T10:00:02.000Z", "seq": i + 1,
               "content_hash": "0x" + f"{i:064x}"} for i in range(size)]
    leaves = [merkle.leaf_hash(f) for f in fields]
    tree = merkle.levels(leaves)
    prev = bytes(32)
    root = merkle.batch_root(31337, CONTRACT, 3, prev, size, tree[-1][0])
    return {"version": 1, "leaf": {"fields": fields[index], "hash": merkle.to_hex(leaves[index])},
            "index": index, "tree_size": size,
            "path": [merkle.to_hex(p) for p in merkle.inclusion_path(tree, index)],
            "batch": {"seq": 3, "prev": merkle.to_hex(prev),
                      "tree_root": merkle.to_hex(tree[-1][0]), "root": merkle.to_hex(root)},
            "anchor": {"chain": "eip155:31337", "contract": CONTRACT, "tx_hash": "0x" + "11" * 32,
                       "block_number": 5, "block_hash": "0x" + "22" * 32, "log_index": 0}}


def _tamperings() -> list[tuple[dict[str, Any], str | None, int | None]]:
    base = _receipt(7, 5)
    cases: list[tuple[dict[str, Any], str | None, int | None]] = [
        (_receipt(1, 0), None, None), (_receipt(5, 4), CONTRACT, 31337), (base, None, None)]

    def edit(fn: Any, contract: str | None = None, chain: int | None = None) -> None:
        r = copy.deepcopy(base)
        fn(r)
        cases.append((r, contract, chain))

    edit(lambda r: r["leaf"]["fields"].update(sender="mallory"))
    edit(lambda r: r["leaf"]["fields"].update(seq=-1))
    edit(lambda r: r.update(index=4))
    edit(lambda r: r.update(index=9))
    edit(lambda r: r.update(tree_size=8))
    edit(lambda r: r["path"].pop())
    edit(lambda r: r["path"].__setitem__(0, "0x" + "00" * 32))
    edit(lambda r: r["path"].__setitem__(0, "0xzz"))
    edit(lambda r: r["batch"].update(prev="0x" + "01" * 32))
    edit(lambda r: r["batch"].update(seq=4))
    edit(lambda r: r["anchor"].update(chain="eip155:1"))
    edit(lambda r: r["anchor"].update(chain="mainnet"))
    edit(lambda r: r["anchor"].update(contract="0x1234"))
    edit(lambda r: None, contract="0x" + "aa" * 20)
    edit(lambda r: None, chain=1)
    edit(lambda r: r.update(version=2))
    edit(lambda r: r.pop("batch"))
    edit(lambda r: r["leaf"].update(hash="0x" + "33" * 32))
    return cases


def test_proof_checks_give_the_python_verifiers_verdicts(tmp_path: Path) -> None:
    cases = _tamperings()
    expected = []
    for receipt, contract, chain in cases:
        try:
            verify.check_proof(receipt, contract, chain)
            expected.append("valid")
        except verify.Invalid as exc:
            expected.append(f"invalid: {exc}")
    got = run_js(tmp_path, PROOF_JS, [{"receipt": r, "contract": c, "chain": n}
                                      for r, c, n in cases])
    assert got == expected
    assert expected[:3] == ["valid"] * 3 and len(set(expected[3:])) > 10
