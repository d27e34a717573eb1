"""The OTC flow's scheduled work, as `chalicelib/jobs.py` and the admin route call it."""

from __future__ import annotations

from typing import Any

import chalicelib.otc.finalizer  # noqa: F401 - the engine must be able to tell orders outcomes
from chalicelib.core.runtime import Runtime
from chalicelib.otc.expiry import run_expiry
from chalicelib.otc.reconciler import run_reconciler


def expiry(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    return run_expiry(rt, deadline_ms)


def reconcile(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    return run_reconciler(rt, deadline_ms)


def reserves(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    from chalicelib.otc.reserves import check

    return check(rt, deadline_ms)


def run_once(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """One pass of both (the admin's reconcile): expire what ran out, drive what is settling."""
    return {"expiry": expiry(rt, deadline_ms), "reconcile": reconcile(rt, deadline_ms)}
