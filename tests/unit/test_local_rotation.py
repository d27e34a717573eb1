"""`make rotate-key`'s pieces that need no stack: the settings it switches, what it refuses."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from local.processes import StackError
from local.rotate_key import stack_pid
from local.rotation import PID_FILE, REQUEST_FILE, RESULT_FILE, Rotator, rotated_env

OLD, NEW, EARLIER = "0x" + "11" * 32, "0x" + "22" * 32, "0x" + "33" * 32


def test_the_new_key_becomes_active_and_the_old_one_joins_the_retiring_keys() -> None:
    env = {"FAUCET_PRIVATE_KEY": OLD, "RETIRING_SIGNER_PRIVATE_KEYS": EARLIER, "OTHER": "x"}
    rotated = rotated_env(env, "faucet", NEW)
    assert rotated["FAUCET_PRIVATE_KEY"] == NEW
    assert rotated["RETIRING_SIGNER_PRIVATE_KEYS"] == f"{EARLIER},faucet={OLD}"
    assert rotated["OTHER"] == "x" and env["FAUCET_PRIVATE_KEY"] == OLD  # a new dict


def test_a_purpose_without_a_local_key_is_not_rotated() -> None:
    with pytest.raises(StackError, match="no local key"):
        rotated_env({"SIGNER": "kms:alias/settlekit-local-hot"}, "faucet", NEW)


def test_the_anchor_key_is_refused_and_the_answer_says_why(tmp_path: Path) -> None:
    rotator = Rotator(lambda line: None)
    rotator.attach({"ANCHOR_PRIVATE_KEY": OLD}, tmp_path, None, None, None)  # type: ignore[arg-type]
    (tmp_path / REQUEST_FILE).write_text(json.dumps({"id": "a1", "purpose": "anchor"}))
    rotator.ask()
    rotator(None)  # type: ignore[arg-type] - refused before the stack is touched
    answer = json.loads((tmp_path / RESULT_FILE).read_text())
    assert answer["id"] == "a1" and "purpose must be one of faucet, escrow" in answer["error"]
    assert rotator.env == {"ANCHOR_PRIVATE_KEY": OLD}


def test_a_pid_file_naming_another_process_is_never_signalled(tmp_path: Path) -> None:
    (tmp_path / PID_FILE).write_text(str(os.getpid()))  # pytest, not `make dev`
    with pytest.raises(StackError, match="no running `make dev` stack"):
        stack_pid(tmp_path)
    with pytest.raises(StackError):
        stack_pid(tmp_path / "missing")
