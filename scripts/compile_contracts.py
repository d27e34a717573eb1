"""Compile contracts/*.vy into committed artifacts.

Why the artifacts are committed: the Lambda functions only need ABIs (and
tests/local deploys need bytecode), never the compiler. Vyper is a dev-only
dependency, so the deploy package stays small and a deploy can never pick up
a different compiler than the one the contracts were reviewed with.
`--check` (run in CI/tests) proves the committed files match the sources.

Outputs, per contract <Name>:
  contracts/build/<Name>.json      contractName, abi, bytecode, compiler, sourceSha256
  chalicelib/abi/<Name>.abi.json   ABI only: what the runtime loads

Usage:
  python scripts/compile_contracts.py          # (re)write artifacts
  python scripts/compile_contracts.py --check  # exit 1 if any differ/missing
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import vyper
from vyper.compiler.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = ROOT / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"
ABI_DIR = ROOT / "chalicelib" / "abi"
COMPILER = f"vyper-{vyper.__version__}"
# Pinned so output does not drift with compiler defaults; hardhat runs >= prague.
EVM_VERSION = "prague"


def _dump(obj: object) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def compile_contract(source_path: Path) -> tuple[dict, list]:
    """Return (build artifact, abi) for one .vy file."""
    source = source_path.read_text(encoding="utf-8")
    out = vyper.compile_code(
        source,
        # Relative path keeps output independent of the checkout location.
        contract_path=source_path.relative_to(ROOT).as_posix(),
        output_formats=["abi", "bytecode"],
        settings=Settings(evm_version=EVM_VERSION),
    )
    artifact = {
        "contractName": source_path.stem,
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "compiler": COMPILER,
        "sourceSha256": hashlib.sha256(source.encode("utf-8")).hexdigest(),
    }
    return artifact, out["abi"]


def build_outputs() -> dict[Path, str]:
    """Every file this script owns, mapped to its exact expected content."""
    outputs: dict[Path, str] = {}
    for source_path in sorted(CONTRACTS_DIR.glob("*.vy")):
        artifact, abi = compile_contract(source_path)
        name = source_path.stem
        outputs[BUILD_DIR / f"{name}.json"] = _dump(artifact)
        outputs[ABI_DIR / f"{name}.abi.json"] = _dump(abi)
    return outputs


def check(outputs: dict[Path, str]) -> list[Path]:
    """Paths whose committed content is missing or differs."""
    return [
        path
        for path, expected in outputs.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != expected
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify only, write nothing")
    args = parser.parse_args(argv)

    outputs = build_outputs()
    if args.check:
        stale = check(outputs)
        for path in stale:
            print(f"stale or missing: {path.relative_to(ROOT)}", file=sys.stderr)
        if stale:
            print("run: python scripts/compile_contracts.py", file=sys.stderr)
            return 1
        print(f"ok: {len(outputs)} artifacts up to date")
        return 0

    for path, content in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
