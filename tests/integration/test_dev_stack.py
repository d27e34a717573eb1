"""`make dev` (python -m local.dev) notices what dies.

Starts the whole local stack on free ports, reads the PIDs from its banner, kills the job runner
(restarted, with its new PID said) and then the chain node: the stack must say at once which
process died and stop every process it started.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local import dev, processes

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.chain


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose; /proc tells us its state.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def read_until(proc: subprocess.Popen[str], pattern: str, seen: list[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if line:
            seen.append(line)
            if re.search(pattern, line):
                return line
        elif proc.poll() is not None:
            break
    raise AssertionError(f"no line matching {pattern!r}; output was:\n{''.join(seen)}")


def test_the_stack_restarts_a_killed_job_runner_and_stops_when_the_chain_node_dies() -> None:
    api_port = processes.free_port()
    env = {
        **os.environ,
        "API_PORT": str(api_port),
        "RPC_PORT": str(processes.free_port()),
        "STORE_PORT": str(processes.free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.dev"], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    seen: list[str] = []
    try:
        jobs_line = read_until(proc, r"^  job runner +pid \d+", seen, timeout=240)
        pids_line = read_until(proc, r"^  other pids ", seen, timeout=5)
        logs_line = read_until(proc, r"^  logs ", seen, timeout=5)
        jobs = int(re.findall(r"pid (\d+)", jobs_line)[0])
        store, chain, api = (int(p) for p in re.findall(r"\d+", pids_line))
        assert Path(logs_line.split()[-1]) == dev.log_folder_path(api_port)

        os.kill(jobs, signal.SIGKILL)
        restarted = read_until(proc, rf"job runner \(pid {jobs}\) exited", seen, timeout=10)
        new_jobs = int(re.findall(r"restarted it as pid (\d+)", restarted)[0])
        assert alive(new_jobs)

        os.kill(chain, signal.SIGKILL)
        killed_at = time.monotonic()
        said = read_until(proc, r"chain node", seen, timeout=10)
        assert time.monotonic() - killed_at < 5
        assert f"pid {chain}" in said and "killed by signal 9" in said and "Stopping" in said
        assert proc.wait(30) != 0
        time.sleep(0.5)
        assert [p for p in (store, api, new_jobs) if alive(p)] == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)


def test_log_folders_of_earlier_runs_are_reused_not_piled_up(tmp_path: Path) -> None:
    port = processes.free_port()
    first = dev.log_folder(port)
    (first / "api.log").write_text("old run")
    second = dev.log_folder(port)
    assert second == first and list(second.iterdir()) == []
    second.rmdir()
