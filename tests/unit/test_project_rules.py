"""Project-wide rules that are cheapest to check by reading the source."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
SCAN = re.compile(r"\.scan\(|['\"]Scan['\"]|scan_paginator|get_paginator\(\s*['\"]scan")


def test_no_scan_anywhere_in_deployed_or_local_code() -> None:
    sources = DEPLOYED + sorted((ROOT / "local").rglob("*.py"))
    hits = [str(p) for p in sources if SCAN.search(p.read_text())]
    assert hits == []


def test_lambda_requirements_are_pinned_and_boto3_is_recent_enough() -> None:
    lines = [
        line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines and all("==" in line for line in lines)
    boto3 = next(line for line in lines if line.startswith("boto3=="))
    version = tuple(int(x) for x in boto3.split("==")[1].split("."))
    assert version >= (1, 26, 164)  # ReturnValuesOnConditionCheckFailure in transactions


def test_app_py_does_not_import_web3_at_module_level() -> None:
    text = (ROOT / "app.py").read_text()
    pattern = r"^(import web3|from web3|import eth_account|from eth_account)"
    assert not re.search(pattern, text, re.M)


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make dev" in readme and "make test" in readme


def test_local_servers_bind_loopback_only() -> None:
    processes = (ROOT / "local" / "processes.py").read_text()
    assert 'HOST = "127.0.0.1"' in processes
    assert '"--hostname", HOST' in processes
    assert "0.0.0.0" not in processes + (ROOT / "local" / "store_server.py").read_text()
