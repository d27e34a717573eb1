"""Committing an order transition: a driven one (job, finalizer) or a signed user action."""

from __future__ import annotations

from chalicelib.core.leases import LeaseLost
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Op, TransactionFailed
from chalicelib.otc import ledger, signatures


def commit(rt: Runtime, ops: list[Op], fence: Op | None) -> bool:
    """Write `ops` atomically; False when the order moved first (someone else drove it).

    With a fence, nothing lands unless the caller still holds its lease (LeaseLost otherwise).
    """
    try:
        rt.store.transact([*ops, fence] if fence is not None else ops)
    except TransactionFailed as exc:
        if exc.failed("lease") is not None:
            raise LeaseLost("the lease was lost; stopping before writing anything") from exc
        if exc.failed("order") is not None or exc.failed(ledger.DEBIT) is not None:
            return False
        raise
    return True


def commit_signed(rt: Runtime, ops: list[Op]) -> Item | None:
    """Write a signed action's transaction; None when it landed.

    Otherwise a replay is reported first (409 `signature_replayed`), then the order as it was
    when it lost, for the caller to say what happened to it.
    """
    try:
        rt.store.transact(ops)
    except TransactionFailed as exc:
        signatures.raise_if_replayed(exc)
        lost = exc.failed("order")
        if lost is None or lost.item is None:
            raise
        return lost.item
    return None
