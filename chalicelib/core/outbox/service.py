"""What the HTTP layer asks of the payout engine: read, list, request by hand, reconcile."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.assets import resolve_asset
from chalicelib.core.errors import BadRequest, Conflict, NotFound
from chalicelib.core.idempotency import parse_key
from chalicelib.core.log import log
from chalicelib.core.money import parse_amount
from chalicelib.core.outbox.finalize import register_finalizer
from chalicelib.core.outbox.intents import make_intent, request_payout
from chalicelib.core.outbox.model import (
    BROADCAST,
    FAILED,
    NATIVE,
    NEEDS_ATTENTION,
    REQUESTED,
    SIGNED,
    STATUSES,
    finalize_marker,
    index_fields,
    payout_key,
    public_view,
    status_queues,
)
from chalicelib.core.outbox.purposes import register_owner
from chalicelib.core.outbox.webhook_events import payout_event_op
from chalicelib.core.parse import is_ascii_digits, parse_count
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import Settings
from chalicelib.core.store import (
    ConditionFailed,
    Item,
    TransactionFailed,
    put_op,
    update_op,
)
from chalicelib.core.wallets import FAUCET

ADMIN_OWNER = "admin"
# An operator's payouts come from the faucet wallet: never from escrow, which holds only what
# traders deposited and owes exactly that (its ledger would no longer match).
register_owner(ADMIN_OWNER, FAUCET)
PAGE_MAX = 100
# An operator's cancel may allow up to this per gas (100,000 gwei): far above any real spike,
# low enough that a typo cannot hand the whole wallet to a block builder.
MAX_FEE_OVERRIDE_WEI = 100_000 * 10**9


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
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}", code="invalid_status")
    wallets = [s.address for s in rt.signers]
    queues = [q for s in ([status] if status else STATUSES) for q in status_queues(s, wallets)]
    return _list_queues(rt, queues, _limit(limit), cursor)


def _list_queues(rt: Runtime, queues: list[str], size: int, cursor: str | None) -> dict[str, Any]:
    """Payouts queue after queue (a status may have several: intents wait per purpose); the
    cursor says which queue and where."""
    index, inner = 0, None
    if cursor:
        head, _, rest = cursor.partition("~")
        if not is_ascii_digits(head, 2) or not int(head) < len(queues):
            raise BadRequest("the pagination cursor is not valid", code="invalid_cursor")
        index, inner = int(head), rest or None
    found: list[Item] = []
    while index < len(queues) and len(found) < size:
        items, inner = rt.store.query_work(queues[index], limit=size - len(found), cursor=inner)
        found += items
        if inner is None:
            index += 1
    nxt = None
    if index < len(queues):
        nxt = f"{index}~{inner or ''}"
    return {"payouts": [public_view(p, rt.settings) for p in found], "next": nxt}


def _limit(raw: str | None) -> int:
    return parse_count(raw, "limit", default=50, maximum=PAGE_MAX)


def request_admin_payout(
    rt: Runtime, body: dict[str, Any], idempotency_key: str | None = None
) -> tuple[int, dict[str, Any]]:
    """A payout an operator orders by hand (refunds, tests); idempotent by its `key`.

    The `Idempotency-Key` header may stand in for the body's `key` (the same key either way).
    """
    header = parse_key(idempotency_key)
    key = body.get("key", header)
    if not isinstance(key, str) or not key.strip():
        raise BadRequest(
            "key (an idempotency key string) or an Idempotency-Key header is required",
            code="invalid_payout_key",
        )
    if header is not None and header.strip() != key.strip():
        raise BadRequest(
            "the body's key and the Idempotency-Key header differ", code="invalid_payout_key"
        )
    asset, decimals = resolve_asset(rt.settings, body.get("asset", NATIVE))
    amount = parse_amount(body.get("amount"), decimals)
    _refuse_contract_recipient(rt.settings, body.get("to"))
    intent = make_intent(
        f"admin:{key.strip()}", asset, body.get("to"), amount, ADMIN_OWNER, key.strip(),
        purpose=FAUCET,
    )
    now = rt.clock.now_ms()
    payout, created = request_payout(rt.store, intent, now)
    return (202 if created else 200), public_view(payout, rt.settings)


def _refuse_contract_recipient(settings: Settings, to: Any) -> None:
    """Tokens sent to a contract of ours (which cannot send them on) are locked forever."""
    ours = {a.lower() for a in (settings.token_address, settings.anchor_registry_address) if a}
    if isinstance(to, str) and to.strip().lower() in ours:
        raise BadRequest(
            "to is a contract of this service, which could never send the funds on",
            code="invalid_to",
            details={"field": "to"},
        )


def cancel_payout(rt: Runtime, pid: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An operator's cancel: fail a payout never sent, or replace a sent one with a no-op.

    Nothing is failed on a guess. A payout without a nonce was never signed, so failing it is
    proven safe at once. A sent payout is marked; the confirmer then replaces it at its nonce
    with a 0-value transfer to our own wallet, and the payout ends `failed` only if that no-op
    is what gets mined (if the original wins the race it ends `confirmed`).

    `max_fee` (wei per gas, a decimal string) lets that no-op pay more than PAYOUT_MAX_FEE_WEI:
    a payout parked at the cap cannot be replaced below it. Asking again with a higher
    `max_fee` signs a new no-op at the higher fee.
    """
    max_fee = _max_fee(body or {})
    payout = rt.store.get(**payout_key(pid)) if pid.startswith("po_") else None
    if payout is None:
        raise NotFound("no payout with this id", code="payout_not_found")
    now = rt.clock.now_ms()
    status = payout["status"]
    if status == REQUESTED:
        return _fail_unsent(rt, payout, now)
    if status in (BROADCAST, NEEDS_ATTENTION) and payout.get("attempts"):
        return _request_noop(rt, payout, now, max_fee)
    if status == SIGNED:
        raise Conflict("the payout is being sent; try again in a moment", code="payout_sending")
    raise Conflict(f"the payout is already {status}", code="payout_not_cancellable")


def _max_fee(body: dict[str, Any]) -> int | None:
    unknown = set(body) - {"max_fee"}
    if unknown:
        raise BadRequest(
            "unknown field in the cancel request",
            code="unknown_field",
            details={"fields": sorted(unknown)},
        )
    if body.get("max_fee") is None:
        return None
    return parse_amount(body["max_fee"], 0, field="max_fee", maximum=MAX_FEE_OVERRIDE_WEI)


def _request_noop(rt: Runtime, payout: Item, now: int, max_fee: int | None) -> dict[str, Any]:
    """Mark the payout for a no-op at its nonce (again, when a higher max_fee is given)."""
    pid = payout["id"]
    changes: dict[str, Any] = {"cancel_requested_at": now, "updated_at": now}
    condition = Attr("status").is_in([BROADCAST, NEEDS_ATTENTION])
    if max_fee is None:
        condition &= Attr("cancel_requested_at").not_exists()
    else:
        changes["cancel_max_fee"] = str(max_fee)
        # A repeated cancel only counts when it raises the allowed fee (or is the first).
        condition &= Attr("cancel_requested_at").not_exists() | Attr("cancel_max_fee_n").lt(
            max_fee
        )
        changes["cancel_max_fee_n"] = max_fee
    try:
        updated = rt.store.update(
            payout_key(pid), set=changes, add={"version": 1}, condition=condition
        )
    except ConditionFailed as exc:
        current = exc.item or payout
        if current.get("cancel_requested_at") and current["status"] in (
            BROADCAST,
            NEEDS_ATTENTION,
        ):
            return _cancel_view(rt, current)
        raise Conflict(
            f"the payout is {current['status']} now", code="payout_not_cancellable"
        ) from exc
    log("payout_cancel_requested", payout_id=pid, max_fee=changes.get("cancel_max_fee"))
    return _cancel_view(rt, updated)


def _cancel_view(rt: Runtime, payout: Item) -> dict[str, Any]:
    cap = max(rt.settings.payout_max_fee_wei, int(payout.get("cancel_max_fee") or 0))
    return {**public_view(payout, rt.settings), "cancel_requested": True, "max_fee": str(cap)}


def _fail_unsent(rt: Runtime, payout: Item, now: int) -> dict[str, Any]:
    changes = {
        "status": FAILED,
        "attention_reason": "cancelled by an operator before it was sent",
        "updated_at": now,
        **index_fields(FAILED, payout["created_at"], payout["id"]),
    }
    ops = [
        update_op(
            payout_key(payout["id"]),
            set=changes,
            add={"version": 1},
            condition=Attr("status").eq(REQUESTED) & Attr("nonce").not_exists(),
            name="payout",
        ),
        put_op(finalize_marker(payout, FAILED, now), name="finalize"),
        payout_event_op(rt.settings, payout | changes, now),
    ]
    try:
        rt.store.transact(ops)
    except TransactionFailed as exc:
        # The sender took it in the meantime: it is sent (or being sent) now.
        raise Conflict("the payout is being sent; try again", code="payout_sending") from exc
    log("payout_cancelled", payout_id=payout["id"], sent=False)
    return public_view(payout | changes, rt.settings)


def _admin_outcome(rt: Runtime, payout: Item) -> None:
    log("admin_payout_finished", payout_id=payout["id"], status=payout["status"])


register_finalizer(ADMIN_OWNER, _admin_outcome)
