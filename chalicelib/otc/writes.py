"""Committing a driven transition (by a job or a finalizer), optionally fenced by a lease."""

from __future__ import annotations

from chalicelib.core.leases import LeaseLost
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Op, TransactionFailed


def commit(rt: Runtime, ops: list[Op], fence: Op | None) -> bool:
    """Write `ops` atomically; False when the order moved first (someone else drove it).

    With a fence, nothing lands unless the caller still holds its lease (LeaseLost otherwise).
    """
    try:
        rt.store.transact([*ops, fence] if fence is not None else ops)
    except TransactionFailed as exc:
        if exc.failed("lease") is not None:
            raise LeaseLost("the lease was lost; stopping before writing anything") from exc
        if exc.failed("order") is not None:
            return False
        raise
    return True
