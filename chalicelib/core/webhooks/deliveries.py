"""What the admin sees of deliveries (recent attempts), and redelivery by hand."""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.clock import iso
from chalicelib.core.errors import NotFound
from chalicelib.core.log import log
from chalicelib.core.parse import is_ascii_digits, parse_count
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, key
from chalicelib.core.webhooks import endpoints
from chalicelib.core.webhooks.delivery import (
    DELIVERY_ID_PREFIX,
    PENDING,
    delivery_key,
    queue_of,
)


def delivery_view(item: Item) -> dict[str, Any]:
    return {
        "id": item["id"],
        "event_id": item["event_id"],
        "event_type": item["event_type"],
        "status": item["status"],
        "attempts": item.get("attempts", []),
        "next_attempt_at": iso(int(item["next_attempt_at"])) if item["status"] == PENDING
        else None,
        "created_at": iso(int(item["created_at"])),
        "payload": json.loads(item["body"]),
    }


# Deliveries listed per page at most.
PAGE_MAX = 100


def deliveries(rt: Runtime, owner: str, endpoint_id: str, raw_limit: str | None,
               cursor: str | None) -> dict[str, Any]:
    endpoint = endpoints.owned(rt, owner, endpoint_id)
    size = parse_count(raw_limit or None, "limit", default=50, maximum=PAGE_MAX)
    items, nxt = rt.store.query(f"whep#{endpoint['id']}", sk_prefix="dlv#", limit=size,
                                cursor=cursor, forward=False)
    return {"deliveries": [delivery_view(i) for i in items], "next": nxt}


def redeliver(rt: Runtime, owner: str, endpoint_id: str, raw_id: str) -> dict[str, Any]:
    """Queue a delivery again (delivered or given up): it goes out on the next run, signed anew."""
    endpoint = endpoints.owned(rt, owner, endpoint_id)
    created, _, suffix = raw_id.removeprefix(DELIVERY_ID_PREFIX).partition("_")
    item = None
    if raw_id.startswith(DELIVERY_ID_PREFIX) and is_ascii_digits(created) and len(created) == 13 \
            and len(suffix) == 32 and all(c in "0123456789abcdef" for c in suffix):
        item = rt.store.get(**delivery_key(endpoint["id"], int(created), "evt_" + suffix))
    if item is None:
        raise NotFound("no delivery with this id for this endpoint", code="delivery_not_found")
    now = rt.clock.now_ms()
    updated = rt.store.update(
        key(item["pk"], item["sk"]),
        set={"status": PENDING, "next_attempt_at": now, "first_attempt_at": None,
             "failures": 0, "updated_at": now, "wpk": queue_of(endpoint["id"]),
             "wsk": f"{int(item['created_at']):013d}#{item['event_id']}"},
        condition=Attr("pk").exists(),
    )
    log("webhook_redelivery_queued", endpoint_id=endpoint["id"], event_id=item["event_id"])
    return delivery_view(updated)
