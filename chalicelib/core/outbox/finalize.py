"""Telling the owning flow how its payout ended, until it has heard.

Flows register one finalizer per owner type. A finalize marker is written in the same
transaction as the payout's terminal transition; the finalize job calls the owner's finalizer
and deletes the marker only after it returned, so a crash or an error means it is called again
later. Finalizers must therefore be idempotent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core import failpoints
from chalicelib.core.log import log
from chalicelib.core.outbox.model import finalize_key, finalize_queues, payout_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import ConditionFailed, Item

Finalizer = Callable[[Runtime, Item], None]
FINALIZERS: dict[str, Finalizer] = {}


def register_finalizer(owner_type: str, finalizer: Finalizer) -> None:
    FINALIZERS[owner_type] = finalizer


def run_finalizers(
    rt: Runtime, deadline_ms: int, queues: list[str] | None = None
) -> dict[str, Any]:
    """Finalize the markers of `queues` (every purpose's by default), each queue in turn with
    an equal share of the time left, so one purpose's backlog cannot hold up another's."""
    queues = finalize_queues() if queues is None else queues
    summary: Counter[str] = Counter()
    margin = rt.settings.job_margin_ms
    for i, wpk in enumerate(queues):
        now = rt.clock.now_ms()
        share = now + margin + max(0, deadline_ms - now - margin) // (len(queues) - i)
        for marker in rt.store.iter_work(wpk):
            if rt.clock.now_ms() + margin >= min(share, deadline_ms):
                break
            summary[finalize_one(rt, marker)] += 1
    return dict(summary)


def finalize_one(rt: Runtime, marker: Item) -> str:
    finalizer = FINALIZERS.get(marker["owner_type"])
    if finalizer is None:
        log("finalizer_missing", payout_id=marker["payout_id"], owner_type=marker["owner_type"])
        return "finalizer_missing"
    payout = rt.store.get(**payout_key(marker["payout_id"]))
    if payout is None:
        return "payout_missing"
    if payout["status"] != marker["status"]:
        # Undone since (a re-org before finality sent it back to broadcast): the flow hears
        # the next conclusion instead, which writes a marker of its own.
        try:
            rt.store.delete(
                finalize_key(payout["id"]), condition=Attr("status").eq(marker["status"])
            )
        except ConditionFailed:
            pass
        return "finalize_superseded"
    try:
        finalizer(rt, payout)
    except Exception as exc:  # noqa: BLE001 - retried on the next run; the marker stays
        log("finalizer_failed", payout_id=payout["id"], error=type(exc).__name__)
        return "finalize_failed"
    failpoints.hit("during_finalize")
    try:
        # Only this outcome's marker: a newer outcome (needs_attention -> confirmed) rewrote it.
        rt.store.delete(finalize_key(payout["id"]), condition=Attr("status").eq(marker["status"]))
    except ConditionFailed:
        return "finalize_superseded"
    return "finalized"
