"""Hot-key rotation on a running `make dev` stack (asked for by `python -m local.rotate_key`).

The stack does the rotation itself, so no key ever leaves its process or touches the disk: it
makes a new key for the purpose, funds it as `make dev` funds a fresh one, sets it as the
purpose's key with the old key added to RETIRING_SIGNER_PRIVATE_KEYS, and restarts the job
runner and the API with those settings. The store and the chain node keep running, with every
payout in flight: the new key takes new intents, the retiring key drains the payouts it signed.

The request travels as a file in the stack's log folder plus SIGUSR1 to the stack's PID (only
the same user can send it); the answer comes back as a file with the addresses, never a key.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.core.settings import PURPOSE_KEY_SETTINGS
from local import bootstrap
from local.processes import Child, StackError
from local.supervisor import Stack

PID_FILE = "dev.pid"
REQUEST_FILE = "rotate-request.json"
RESULT_FILE = "rotate-result.json"
RETIRING = "RETIRING_SIGNER_PRIVATE_KEYS"
# The anchor registry's submitter is immutable: a new anchor key needs a new registry
# (docs/operations.md), which a running stack's pages and verifier do not follow.
ROTATABLE = ("faucet", "escrow")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write whole or not at all (the reader polls for the file)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def rotated_env(env: dict[str, str], purpose: str, new_key: str) -> dict[str, str]:
    """`env` with `new_key` active for `purpose` and the purpose's old key retiring."""
    setting = PURPOSE_KEY_SETTINGS[purpose]
    old = env.get(setting, "")
    if not old:
        raise StackError(f"the {purpose} wallet has no local key to rotate (LOCAL_SIGNER=kms?)")
    retiring = [k for k in env.get(RETIRING, "").split(",") if k]
    # Named for its purpose: its own lane drains it, and escrow refunds no transfer to it
    # unless it was escrow's.
    return {**env, setting: new_key, RETIRING: ",".join([*retiring, f"{purpose}={old}"])}


class Rotator:
    """The stack's side: `ask` is the SIGUSR1 handler, the call runs in the supervisor's loop."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.asked = threading.Event()  # set by the signal, even before the stack is up
        self.env: dict[str, str] = {}

    def attach(
        self,
        env: dict[str, str],
        logs: Path,
        w3: Any,
        start_api: Callable[[dict[str, str]], Child],
        start_jobs: Callable[[dict[str, str]], Child],
    ) -> None:
        """The running stack's settings, log folder, chain and how to start its API and jobs."""
        self.env, self.logs, self.w3 = env, logs, w3
        self.start_api, self.start_jobs = start_api, start_jobs

    def ask(self, *_: object) -> None:
        self.asked.set()

    def __call__(self, stack: Stack) -> None:
        if not self.asked.is_set():
            return
        self.asked.clear()
        try:
            request = json.loads((self.logs / REQUEST_FILE).read_text())
        except (OSError, ValueError):
            return  # nothing (valid) asked: a stray signal
        answer: dict[str, Any] = {"id": str(request.get("id", ""))}
        try:
            answer.update(self.rotate(stack, str(request.get("purpose", ""))))
        except StackError as exc:
            answer["error"] = str(exc)
        write_json(self.logs / RESULT_FILE, answer)

    def rotate(self, stack: Stack, purpose: str) -> dict[str, Any]:
        from eth_account import Account

        if purpose not in ROTATABLE:
            raise StackError(f"purpose must be one of {', '.join(ROTATABLE)}, got {purpose!r}")
        key = "0x" + secrets.token_hex(32)
        env = rotated_env(self.env, purpose, key)
        old = Account.from_key(self.env[PURPOSE_KEY_SETTINGS[purpose]]).address
        new = Account.from_key(key).address
        self.say(f"rotating the {purpose} key: funding {new} ...")
        try:
            bootstrap.fund_for(self.w3, purpose, new, self.env["TOKEN_ADDRESS"])
        except Exception as exc:  # noqa: BLE001 - nothing changed yet: report, keep running
            raise StackError(f"funding the new wallet failed ({type(exc).__name__})") from exc
        self.env = env
        # The job runner first: from now on only the new key takes new intents. A run it was
        # in the middle of resumes from the table (the old wallet's lease expires in seconds).
        stack.jobs.stop()
        stack.start_jobs = lambda: self.start_jobs(self.env)
        stack.jobs = stack.start_jobs()
        api = next(c for c in stack.vital if c.name == "api")
        api.stop()
        new_api = self.start_api(self.env)
        stack.replace(new_api)
        pids = {"api": new_api.proc.pid, "jobs": stack.jobs.proc.pid}
        self.say(
            f"rotated the {purpose} key: {new} takes new payouts; {old} is retiring and drains "
            f"its own. API pid {pids['api']}, job runner pid {pids['jobs']}"
        )
        return {"purpose": purpose, "wallet": new, "retiring": old, "pids": pids}
