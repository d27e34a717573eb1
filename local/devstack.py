"""Run `make dev`'s whole stack (local.dev) as a child on free ports, for tests and benches."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local.processes import ROOT, free_port

START_TIMEOUT_S = 180
READY_LINE = "Press Ctrl-C to stop."


def banner_value(text: str, label: str) -> str:
    m = re.search(rf"^\s+{re.escape(label)}\s+(\S+)", text, re.M)
    return m.group(1) if m else ""


@contextmanager
def dev_stack(
    log_path: Path, admin_token: str, settings: dict[str, str] | None = None
) -> Iterator[dict[str, str]]:
    """Yields the banner's values (API URL, RPC URL, token (SKT), registry, wallets, logs).

    `settings`: what an operator may set for `make dev` (local.dev.OVERRIDABLE).
    """
    env = {**os.environ, "API_PORT": str(free_port()), "RPC_PORT": str(free_port()),
           "ADMIN_TOKEN": admin_token, "PYTHONUNBUFFERED": "1", **(settings or {})}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own dev stack
            [sys.executable, "-m", "local.dev"], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        text = ""
        while READY_LINE not in text:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text()[-3000:]
                raise RuntimeError(f"make dev's stack did not start:\n{tail}")
            time.sleep(0.5)
            text = log_path.read_text()
        labels = ("API URL", "RPC URL", "token (SKT)", "registry", "logs",
                  "escrow wallet", "faucet wallet", "anchor wallet")
        yield {label: banner_value(text, label) for label in labels}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # local.dev stops its children on SIGTERM
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
