"""Batches that need a human: finding them (work index, no Scan) and retrying one by hand.

A batch is parked (`stuck`, shown as `needs_attention`) when its anchor transaction reverted and
the finalizer could not re-anchor it: the registry's head was not its predecessor, the hot wallet
was not the submitter, or ANCHOR_MAX_ATTEMPTS were spent. Every batch not yet anchored stays in
the work index under `anchor#batches`, so listing them is one Query; a parked batch is always the
first of them, since anchors are requested strictly in order.

`retry_batch` re-reads the registry's head on chain and, only if the registry would accept the
batch now, writes a new anchor payout (key `anchor:<seq>:<attempt + 1>`) in ONE transaction with
`stuck -> requested`, conditioned on the batch still being stuck at the attempt it read: two
retries at once make one payout, and the loser is told what won.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.anchoring.batches import anchor_intent
from chalicelib.anchoring.model import (
    ANCHORED,
    BATCH_QUEUE,
    REQUESTED,
    STUCK,
    batch_key,
    batch_view,
    public_status,
)
from chalicelib.anchoring.outcomes import registry_refusal
from chalicelib.anchoring.proofs import find_batch
from chalicelib.core.errors import BadRequest, Conflict, Unprocessable
from chalicelib.core.log import log
from chalicelib.core.outbox.intents import intent_op
from chalicelib.core.parse import parse_count
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, TransactionFailed, update_op
from chalicelib.core.wallets import ANCHOR

STATUSES = ("pending", "needs_attention")
PAGE_DEFAULT = 50
PAGE_MAX = 100  # each listed batch is re-read (consistent): keep a page to a few reads


def admin_view(batch: Item) -> dict[str, Any]:
    """The public batch view plus the anchor payout it waits on (`GET /v1/payouts/{id}`)."""
    return {**batch_view(batch), "payout_id": batch.get("payout_id")}


def _limit(raw: str | None) -> int:
    return parse_count(raw, "limit", default=PAGE_DEFAULT, maximum=PAGE_MAX)


def list_batches(
    rt: Runtime, status: str | None, limit: str | None, cursor: str | None
) -> dict[str, Any]:
    """Batches not yet anchored, lowest seq first, optionally only `pending`/`needs_attention`.

    A page may hold fewer than `limit` batches when a status filter is given; `next` continues.
    """
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}", code="invalid_status")
    entries, nxt = rt.store.query_work(BATCH_QUEUE, limit=_limit(limit), cursor=cursor)
    found = []
    for entry in entries:
        # The index is eventually consistent: what it says is re-read before it is shown.
        batch = rt.store.get(**batch_key(int(entry["batch_seq"])))
        if batch is None or batch["status"] == ANCHORED:
            continue
        if status is None or public_status(batch) == status:
            found.append(admin_view(batch))
    return {"batches": found, "next": nxt}


def not_parked(batch: Item) -> Conflict:
    """409 naming the batch's state, for a retry of a batch that is not (or no longer) parked."""
    details = {"batch_seq": batch["batch_seq"], "status": public_status(batch)}
    if batch["status"] == REQUESTED and batch.get("attention"):
        # Rule 4: the transaction may still land; only the payout engine may conclude it.
        return Conflict(
            "the anchor transaction's outcome is not known yet; the payout engine is still "
            "watching it, so it cannot be replaced",
            code="anchor_outcome_unknown",
            details=details,
        )
    return Conflict(
        "only a batch parked as needs_attention after its anchor failed can be retried",
        code="batch_not_parked",
        details=details,
    )


def retry_batch(rt: Runtime, raw_seq: str) -> dict[str, Any]:
    """stuck -> requested with a new anchor payout, if the registry would accept it now."""
    batch = find_batch(rt, raw_seq)
    if batch["status"] != STUCK:
        raise not_parked(batch)
    if rt.chain is None or rt.wallet(ANCHOR) is None:
        raise Unprocessable(
            "retrying an anchor needs the chain and the anchor wallet "
            "(CHAIN_RPC_URL, ANCHOR_PRIVATE_KEY or SIGNER_PRIVATE_KEY)",
            code="chain_not_configured",
        )
    refusal = registry_refusal(rt, batch)
    if refusal is not None:
        raise Conflict(refusal.message, code=refusal.code, details=refusal.details)
    batch_seq = int(batch["batch_seq"])
    attempt = int(batch["attempt"]) + 1
    intent = anchor_intent(rt, batch, attempt)
    now = rt.clock.now_ms()
    changes = {
        "status": REQUESTED,
        "attempt": attempt,
        "payout_id": intent.id,
        "stuck_reason": None,
        "attention": None,
        "retried_at": now,
        "updated_at": now,
    }
    op = update_op(
        batch_key(batch_seq),
        set=changes,
        condition=Attr("status").eq(STUCK) & Attr("attempt").eq(int(batch["attempt"])),
        name="batch",
    )
    try:
        rt.store.transact([intent_op(intent, now), op])
    except TransactionFailed as exc:
        lost = exc.failed("batch")
        if lost is not None:
            raise not_parked(lost.item or batch) from None
        # The batch was still parked, yet its next payout key is taken: never reuse a key.
        raise Conflict(
            "an anchor payout with this batch's next key exists already",
            code="anchor_payout_exists",
            details={"batch_seq": batch_seq, "payout_id": intent.id},
        ) from None
    log("anchor_retried", batch_seq=batch_seq, payout_id=intent.id, attempt=attempt)
    return admin_view({k: v for k, v in (batch | changes).items() if v is not None})
