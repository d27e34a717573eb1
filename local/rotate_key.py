"""`make rotate-key`: rotate a hot key of the running `make dev` stack, payouts in flight and all.

    python -m local.rotate_key [faucet|escrow]     (default faucet; API_PORT as for make dev)

Asks the stack on API_PORT (see local/rotation.py) and prints the new and the retiring wallet.
The store and the chain keep running; the API and the job runner restart with the new settings.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from local.processes import StackError

# Funding the new wallet takes a few blocks and the API needs seconds to start again.
ANSWER_TIMEOUT_S = 120


def stack_pid(logs: Path) -> int:
    """The PID of the `make dev` process whose logs are in `logs`, checked to be that process
    (SIGUSR1 would end any other process)."""
    from local.rotation import PID_FILE

    try:
        pid = int((logs / PID_FILE).read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        pid, cmdline = 0, []
    if b"local.dev" not in cmdline:
        raise StackError(
            f"no running `make dev` stack found for {logs} (start it first, with the same API_PORT)"
        )
    return pid


def rotate(api_port: int, purpose: str, timeout_s: float = ANSWER_TIMEOUT_S) -> dict[str, object]:
    from local.dev import log_folder_path
    from local.rotation import REQUEST_FILE, RESULT_FILE, write_json

    logs = log_folder_path(api_port)
    pid = stack_pid(logs)
    ask = secrets.token_hex(8)
    (logs / RESULT_FILE).unlink(missing_ok=True)
    write_json(logs / REQUEST_FILE, {"id": ask, "purpose": purpose})
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            answer: dict[str, object] = json.loads((logs / RESULT_FILE).read_text())
        except (OSError, ValueError):
            answer = {}
        if answer.get("id") == ask:
            if "error" in answer:
                raise StackError(str(answer["error"]))
            return answer
        time.sleep(0.5)
    raise StackError(f"the stack did not answer within {timeout_s:.0f} s; see {logs}")


def main(argv: list[str]) -> int:
    from local.dev import port_setting

    purpose = argv[0] if argv else "faucet"
    try:
        answer = rotate(port_setting("API_PORT", 8000), purpose)
    except StackError as exc:
        print(f"rotate-key: {exc}", file=sys.stderr)
        return 2
    print(f"{answer['purpose']} wallet   {answer['wallet']}   (new: takes new payouts)")
    print(f"retiring         {answer['retiring']}   (drains the payouts it signed)")
    pids = answer["pids"]
    assert isinstance(pids, dict)
    print(f"API pid {pids['api']}, job runner pid {pids['jobs']} (store and chain kept running)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
