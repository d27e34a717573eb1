"""Event types, the event record written inside a flow's transaction, and its stable id.

An event item (`whevt#<id>` / `event`) waits under `webhooks#fanout` in the work index until the
delivery job has copied it to every subscribed endpoint's queue. Its id is derived from what
happened (type, resource, sequence), so a retried transaction or a repeated finalizer writes the
same id and receivers can de-duplicate on it. `sequence` grows along a resource's life (a claim's
attempt, matched=1 then completed=2): a receiver ignores an event older than one it has seen.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.core.clock import iso
from chalicelib.core.store import Item, Key, Op, key, put_op

FANOUT_QUEUE = "webhooks#fanout"
# Events (and their deliveries) are garbage a month after they happened.
EVENT_GC_AFTER_S = 30 * 86_400
ADMIN = "admin"


@dataclass(frozen=True)
class EventType:
    """A kind of event; `app_visible` ones also go to the app the resource belongs to."""

    name: str
    description: str
    app_visible: bool = False


Expander = Callable[[Any, Item], Iterable[Item]]
_types: dict[str, EventType] = {}
_expanders: dict[str, Expander] = {}


def register_event_type(name: str, description: str, *, app_visible: bool = False) -> EventType:
    existing = _types.get(name)
    event_type = EventType(name, description, app_visible)
    if existing is not None and existing != event_type:
        raise ValueError(f"event type {name} is already registered differently")
    _types[name] = event_type
    return event_type


def register_expander(name: str, expander: Expander) -> None:
    """`expander(rt, event)` yields child events (from `new_event`) derived from durable state."""
    _expanders[name] = expander


def event_types() -> list[EventType]:
    return sorted(_types.values(), key=lambda t: t.name)


def expander_of(name: str) -> Expander | None:
    return _expanders.get(name)


def event_id(type_: str, resource_id: str, sequence: int) -> str:
    digest = hashlib.sha256(f"{type_}|{resource_id}|{sequence}".encode()).hexdigest()
    return "evt_" + digest[:32]


def event_key(eid: str) -> Key:
    return key(f"whevt#{eid}", "event")


def new_event(
    type_: str,
    resource_type: str,
    resource_id: str,
    sequence: int,
    data: dict[str, Any],
    now: int,
    *,
    app_id: str | None = None,
) -> Item:
    """The event item. `data` holds ids, states and amounts only: never a secret."""
    if type_ not in _types:
        raise ValueError(f"unregistered event type {type_}")
    eid = event_id(type_, resource_id, sequence)
    body = {
        "id": eid,
        "type": type_,
        "created_at": iso(now),
        "resource": {"type": resource_type, "id": resource_id},
        "sequence": sequence,
        "data": data,
    }
    return {
        **event_key(eid),
        "id": eid,
        "type": type_,
        "app_id": app_id,
        "created_at": now,
        "body": json.dumps(body, sort_keys=True, separators=(",", ":")),
        "wpk": FANOUT_QUEUE,
        "wsk": f"{now:013d}#{eid}",
        "gc_at": now // 1000 + EVENT_GC_AFTER_S,
    }


def event_op(
    type_: str,
    resource_type: str,
    resource_id: str,
    sequence: int,
    data: dict[str, Any],
    now: int,
    *,
    app_id: str | None = None,
) -> Op:
    """The item to add to the state change's transaction.

    Unconditional: a repeat writes the same id again (and so at worst a duplicate delivery a
    receiver drops by id); it can never make the state change itself fail.
    """
    item = new_event(type_, resource_type, resource_id, sequence, data, now, app_id=app_id)
    return put_op(item, name="webhook_event")
