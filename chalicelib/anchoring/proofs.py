"""Receipts (a message's proof, self-contained) and the public batch and leaf listings.

A receipt is built from the batch's stored leaves, never from other messages, so deleting any
message (this one's fields included) leaves every other receipt of the batch intact.

Receipt, version 2 (version 1 had `seq` and `batch.seq` as JSON integers):
  {"version": 2,
   "leaf":   {"fields": {message_id, conversation_id, sender, sent_at, seq, content_hash},
              "hash": "0x…"},
   "index": i, "tree_size": n, "path": ["0x…", …],            (RFC 9162 audit path, bottom-up)
   "batch":  {"seq", "prev", "tree_root", "root"},
              (both seqs are decimal strings: they may exceed 2^53, JavaScript's exact range)
   "anchor": {"chain": "eip155:<id>", "contract", "tx_hash", "block_number", "block_hash",
              "log_index"}}
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.anchoring import merkle
from chalicelib.anchoring.batches import LeavesCorrupt, load_leaves
from chalicelib.anchoring.messages import own_message
from chalicelib.anchoring.model import (
    ANCHORED,
    LEAF_CHUNK,
    anchor_view,
    batch_key,
    batch_view,
    chunk_key,
)
from chalicelib.core.errors import BadRequest, Gone, NotFound
from chalicelib.core.parse import parse_count
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item

RECEIPT_VERSION = 2
BATCH_SEQ_RE = re.compile(r"^[1-9][0-9]{0,11}$")


def message_proof(rt: Runtime, app: Item, message_id: str) -> tuple[int, dict[str, Any]]:
    """200 with the receipt once the batch is anchored at depth; 202 {status: pending} before."""
    message = own_message(rt, app, message_id)
    if message.get("deleted_at"):
        raise Gone("the message was deleted; its leaf stays in its batch", code="message_deleted")
    batch_seq = message.get("batch_seq")
    batch = rt.store.get(**batch_key(int(batch_seq))) if batch_seq is not None else None
    if batch is None or batch["status"] != ANCHORED:
        return 202, {"status": "pending", "message_id": message_id, "batch_seq": batch_seq}
    return 200, build_receipt(rt, batch, message)


def build_receipt(rt: Runtime, batch: Item, message: Item) -> dict[str, Any]:
    leaves = load_leaves(rt.store, batch)
    tree = merkle.levels(leaves)
    if merkle.to_hex(tree[-1][0]) != batch["tree_root"]:
        raise LeavesCorrupt("the stored leaves do not rebuild the batch's tree root")
    index = int(message["seq"]) - int(batch["first_seq"])
    if merkle.to_hex(leaves[index]) != message["leaf_hash"]:
        raise LeavesCorrupt("the message's leaf is not where its seq puts it in the batch")
    fields = {name: message[name] for name in merkle.LEAF_FIELDS}
    fields["seq"] = str(int(fields["seq"]))
    return {
        "version": RECEIPT_VERSION,
        "leaf": {"fields": fields, "hash": message["leaf_hash"]},
        "index": index,
        "tree_size": int(batch["tree_size"]),
        "path": [merkle.to_hex(p) for p in merkle.inclusion_path(tree, index)],
        "batch": {
            "seq": str(int(batch["batch_seq"])),
            "prev": batch["prev"],
            "tree_root": batch["tree_root"],
            "root": batch["root"],
        },
        "anchor": anchor_view(batch),
    }


def find_batch(rt: Runtime, raw_seq: str) -> Item:
    """The batch a path names; 400 for a malformed seq, 404 for an unknown one."""
    if not BATCH_SEQ_RE.match(raw_seq):
        raise BadRequest("batch_seq must be a positive integer", code="invalid_batch_seq")
    batch = rt.store.get(**batch_key(int(raw_seq)))
    if batch is None:
        raise NotFound("no batch with this seq", code="batch_not_found")
    return batch


def get_batch(rt: Runtime, raw_seq: str) -> dict[str, Any]:
    return batch_view(find_batch(rt, raw_seq))


def batch_leaves(rt: Runtime, raw_seq: str, raw_page: str | None) -> dict[str, Any]:
    """One page (LEAF_CHUNK hashes, in tree order) of a batch's leaves, for auditors."""
    batch = find_batch(rt, raw_seq)
    page = parse_count(raw_page, "page", default=0, minimum=0, maximum=999_999_999)
    chunks = int(batch["chunks"])
    if page >= chunks:
        raise NotFound(f"this batch has {chunks} page(s) of leaves", code="page_not_found")
    item = rt.store.get(**chunk_key(int(batch["batch_seq"]), batch["leaves_token"], page))
    if item is None:
        raise LeavesCorrupt("a page of this batch's leaves is missing")
    raw = bytes(item["hashes"])
    return {
        "batch_seq": batch["batch_seq"],
        "tree_size": batch["tree_size"],
        "tree_root": batch["tree_root"],
        "page": page,
        "from_index": page * LEAF_CHUNK,
        "leaves": ["0x" + raw[i : i + 32].hex() for i in range(0, len(raw), 32)],
        "next": str(page + 1) if page + 1 < chunks else None,
    }
