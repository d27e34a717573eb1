"""Committed contract artifacts must equal a fresh compile of contracts/*.vy."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from chalicelib.core.artifacts import load_abi

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ("AnchorRegistry", "TestToken")


def _load_compile_script() -> ModuleType:
    # scripts/ is not a package; load the file directly.
    path = ROOT / "scripts" / "compile_contracts.py"
    spec = importlib.util.spec_from_file_location("compile_contracts", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fresh() -> dict[Path, str]:
    return _load_compile_script().build_outputs()


def test_every_contract_has_a_build_artifact_and_a_runtime_abi(
    fresh: dict[Path, str],
) -> None:
    expected = {ROOT / "contracts" / "build" / f"{n}.json" for n in CONTRACTS}
    expected |= {ROOT / "chalicelib" / "abi" / f"{n}.abi.json" for n in CONTRACTS}
    assert expected <= set(fresh)


def test_committed_artifacts_equal_a_fresh_compile(fresh: dict[Path, str]) -> None:
    for path, content in fresh.items():
        assert path.is_file(), f"missing {path.relative_to(ROOT)}"
        assert path.read_text(encoding="utf-8") == content, (
            f"stale {path.relative_to(ROOT)}"
        )


def test_build_artifact_has_the_documented_keys() -> None:
    for name in CONTRACTS:
        artifact = json.loads(
            (ROOT / "contracts" / "build" / f"{name}.json").read_text()
        )
        assert set(artifact) == {
            "contractName",
            "abi",
            "bytecode",
            "compiler",
            "sourceSha256",
        }
        assert artifact["contractName"] == name
        assert artifact["bytecode"].startswith("0x") and len(artifact["bytecode"]) > 2
        assert artifact["compiler"] == "vyper-0.4.3"


@pytest.mark.parametrize("name", CONTRACTS)
def test_load_abi_returns_the_build_artifact_abi(name: str) -> None:
    artifact = json.loads((ROOT / "contracts" / "build" / f"{name}.json").read_text())
    assert load_abi(name) == artifact["abi"]


def test_load_abi_returns_an_independent_copy() -> None:
    first = load_abi("AnchorRegistry")
    first.clear()
    assert load_abi("AnchorRegistry")
