"""Where anchoring keeps its items, the states of a batch, and what the API shows of them.

Items (one table):
  app#<app_id> / app                    an app: name, sha256 of its key, active or revoked
  anchor#seq / counter                  the last message seq given out (service-wide)
  msg#<message_id> / msg                a message; in the work index under `anchor#pending`
                                        (sort key = seq) until a batch has claimed it
  msgkey#<app_id>#<sha256(key)> / key   an app's Idempotency-Key: the message it recorded and
                                        the sha256 of the request body (see idempotency.py)
  anchor#head / head                    last claimed batch: seq, root, next message seq
  anchor#batch#<seq> / batch            a batch: seq range, roots, status, anchor transaction;
                                        in the work index under `anchor#batches` until anchored
  anchor#batch#<seq> / leaves#<token>#<chunk>
                                        the batch's leaf hashes, LEAF_CHUNK per item (binary);
                                        <token> names the claim attempt that wrote them
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.clock import iso
from chalicelib.core.outbox.purposes import register_owner
from chalicelib.core.store import Item, Key, key
from chalicelib.core.wallets import ANCHOR

PENDING_QUEUE = "anchor#pending"
BATCH_QUEUE = "anchor#batches"
COUNTER_KEY = key("anchor#seq", "counter")
HEAD_KEY = key("anchor#head", "head")
OWNER_TYPE = "anchor"
register_owner(OWNER_TYPE, ANCHOR)  # anchors are sent from the anchor wallet only
LEASE_NAME = "anchor-batcher"
# 1,024 hashes = 32 KiB per item: well under DynamoDB's 400 KB item limit, and one page of
# `GET /v1/anchors/{seq}/leaves` stays ~70 KB of JSON.
LEAF_CHUNK = 1024

# Batch states. claimed: range and roots fixed, messages being marked, no transaction yet;
# requested: an anchor payout exists (payout_id); anchored: confirmed at depth, log recorded;
# stuck: a revert that re-sending cannot fix; a human must look (alerted once).
CLAIMED = "claimed"
REQUESTED = "requested"
ANCHORED = "anchored"
STUCK = "stuck"


def message_key(message_id: str) -> Key:
    return key(f"msg#{message_id}", "msg")


def app_key(app_id: str) -> Key:
    return key(f"app#{app_id}", "app")


def batch_pk(batch_seq: int) -> str:
    return f"anchor#batch#{batch_seq}"


def batch_key(batch_seq: int) -> Key:
    return key(batch_pk(batch_seq), "batch")


def chunk_prefix(token: str) -> str:
    return f"leaves#{token}#"


def chunk_key(batch_seq: int, token: str, chunk: int) -> Key:
    return key(batch_pk(batch_seq), f"{chunk_prefix(token)}{chunk:06d}")


def pending_sort_key(seq: int) -> str:
    return f"{seq:020d}"


def batch_sort_key(batch_seq: int) -> str:
    return f"{batch_seq:012d}"


def public_status(batch: Item | None) -> str:
    """pending (not yet anchored at depth), anchored, or needs_attention."""
    if batch is None:
        return "pending"
    if batch["status"] == ANCHORED:
        return "anchored"
    if batch["status"] == STUCK or batch.get("attention"):
        return "needs_attention"
    return "pending"


def anchor_view(batch: Item) -> dict[str, Any]:
    """Where a batch sits on chain (all None until it is anchored)."""
    anchored = batch["status"] == ANCHORED
    return {
        "chain": f"eip155:{batch['chain_id']}",
        "contract": batch["contract"],
        "tx_hash": batch.get("tx_hash") if anchored else None,
        "block_number": batch.get("block_number") if anchored else None,
        "block_hash": batch.get("block_hash") if anchored else None,
        "log_index": batch.get("log_index") if anchored else None,
    }


def batch_view(batch: Item) -> dict[str, Any]:
    return {
        "batch_seq": batch["batch_seq"],
        "status": public_status(batch),
        "tree_size": batch["tree_size"],
        "first_seq": batch["first_seq"],
        "last_seq": batch["last_seq"],
        "tree_root": batch["tree_root"],
        "prev": batch["prev"],
        "root": batch["root"],
        "anchor": anchor_view(batch),
        "attempts": int(batch.get("attempt", 0)),
        "reason": batch.get("stuck_reason") or batch.get("attention"),
        "created_at": iso(batch["created_at"]),
        "anchored_at": iso(batch["anchored_at"]) if batch.get("anchored_at") else None,
    }
