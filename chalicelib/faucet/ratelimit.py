"""Drip rate limits: at most DRIP_MAX_REQUESTS drips per sliding window, per wallet and per IP.

Each subject (one wallet, one client IP) owns DRIP_MAX_REQUESTS slot items. A drip takes one free
slot of each subject inside its own transaction, on the condition "the slot is absent or its
`until` has passed", and sets `until = now + window`. A slot is held by one drip at a time, so no
window can ever hold more drips than there are slots, whatever races; a lost race is a failed
condition and the caller re-reads and tries another slot. A drip whose payout failed gives its
slots back (`release_op`), but only slots that are still its own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from boto3.dynamodb.conditions import Attr

from chalicelib.core.store import DynamoStore, Item, Op, put_op, update_op
from chalicelib.faucet.keys import drip_slot_key, drip_slots_pk

WALLET = "wallet"
IP = "ip"
# Slot items are garbage a day after they free up (TTL); correctness only compares `until`.
GC_GRACE_S = 86_400


@dataclass(frozen=True)
class Subject:
    kind: str  # WALLET or IP
    id: str  # a lower-case address, or a hashed IP (see chalicelib.core.clientip.ip_subject)

    @property
    def op_name(self) -> str:
        return f"slot:{self.kind}"


@dataclass(frozen=True)
class Slots:
    """What one subject's slots held when read: index -> `until` (epoch ms)."""

    subject: Subject
    until: dict[int, int]

    def free(self, limit: int, now: int) -> list[int]:
        return [i for i in range(limit) if self.until.get(i, 0) <= now]

    def next_free_at(self, limit: int, now: int) -> int:
        """When this subject can drip again (now if a slot is free)."""
        if self.free(limit, now):
            return now
        return min(self.until[i] for i in range(limit))

    def taken(self, index: int, until: int) -> Slots:
        return Slots(self.subject, {**self.until, index: until})


def read(store: DynamoStore, subject: Subject, limit: int) -> Slots:
    items, _ = store.query(
        drip_slots_pk(subject.kind, subject.id), sk_prefix="slot#", limit=limit, consistent=True
    )
    until = {int(i["sk"].removeprefix("slot#")): int(i.get("until", 0)) for i in items}
    return Slots(subject, until)


def pick(slots: Slots, limit: int, now: int) -> int | None:
    """A free slot; random, so concurrent requests of one subject rarely pick the same one."""
    free = slots.free(limit, now)
    return random.choice(free) if free else None


def take_op(subject: Subject, index: int, now: int, window_ms: int, drip_id: str) -> Op:
    until = now + window_ms
    item = {
        **drip_slot_key(subject.kind, subject.id, index),
        "until": until,
        "drip_id": drip_id,
        "gc_at": until // 1000 + GC_GRACE_S,
    }
    free = Attr("pk").not_exists() | Attr("until").lte(now)
    return put_op(item, condition=free, name=subject.op_name)


def release_op(slot: Item, drip_id: str, now: int) -> Op:
    """Free a slot still held by `drip_id` (its payout failed, so it used no quota)."""
    return update_op(
        {"pk": slot["pk"], "sk": slot["sk"]},
        set={"until": now, "drip_id": None, "released_at": now},
        condition=Attr("drip_id").eq(drip_id),
        name=f"release:{slot['pk']}",
    )
