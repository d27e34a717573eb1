"""What the HTTP layer asks of the payout engine: read, list, request by hand, reconcile."""

from __future__ import annotations

from typing import Any

from chalicelib.core.assets import resolve_asset
from chalicelib.core.errors import BadRequest, NotFound
from chalicelib.core.log import log
from chalicelib.core.money import parse_amount
from chalicelib.core.outbox.finalize import register_finalizer
from chalicelib.core.outbox.intents import make_intent, request_payout
from chalicelib.core.outbox.model import NATIVE, STATUSES, payout_key, public_view, queue
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item

ADMIN_OWNER = "admin"
PAGE_MAX = 100


def get_payout(rt: Runtime, pid: str) -> dict[str, Any]:
    if not pid.startswith("po_") or len(pid) > 64:
        raise NotFound("no payout with this id", code="payout_not_found")
    payout = rt.store.get(**payout_key(pid))
    if payout is None:
        raise NotFound("no payout with this id", code="payout_not_found")
    head = _head(rt) if payout.get("mined_block") is not None else None
    return public_view(payout, rt.settings, head)


def _head(rt: Runtime) -> int | None:
    try:
        return rt.chain.block_number() if rt.chain else None
    except Exception:  # noqa: BLE001 - confirmations are informative; the stored value serves
        return None


def list_payouts(
    rt: Runtime, status: str | None, limit: str | None, cursor: str | None
) -> dict[str, Any]:
    if status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}", code="invalid_status")
    size = _limit(limit)
    items, nxt = rt.store.query_work(queue(status), limit=size, cursor=cursor)
    return {"payouts": [public_view(p, rt.settings) for p in items], "next": nxt}


def _limit(raw: str | None) -> int:
    if raw is None:
        return 50
    if not raw.isdigit() or not 1 <= int(raw) <= PAGE_MAX:
        raise BadRequest(f"limit must be an integer from 1 to {PAGE_MAX}", code="invalid_limit")
    return int(raw)


def request_admin_payout(rt: Runtime, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A payout an operator orders by hand (refunds, tests); idempotent by its `key`."""
    key = body.get("key")
    if not isinstance(key, str) or not key.strip():
        raise BadRequest("key (an idempotency key string) is required", code="invalid_payout_key")
    asset, decimals = resolve_asset(rt.settings, body.get("asset", NATIVE))
    amount = parse_amount(body.get("amount"), decimals)
    intent = make_intent(
        f"admin:{key.strip()}", asset, body.get("to"), amount, ADMIN_OWNER, key.strip()
    )
    now = rt.clock.now_ms()
    payout, created = request_payout(rt.store, intent, now)
    return (202 if created else 200), public_view(payout, rt.settings)


def _admin_outcome(rt: Runtime, payout: Item) -> None:
    log("admin_payout_finished", payout_id=payout["id"], status=payout["status"])


register_finalizer(ADMIN_OWNER, _admin_outcome)
