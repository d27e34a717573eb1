"""Webhook endpoints: register (secret shown once), list, disable/enable, rotate, delete.

Endpoint items live under one partition (`webhooks#endpoints`), so the delivery job lists them
with one Query. The owner is `admin` (the organizer) or an app id (an anchoring app, which may
subscribe to the events about its own messages only). The signing secret is stored because every
delivery is signed with it; it is returned once, at creation or rotation, and never logged.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.clock import iso
from chalicelib.core.errors import BadRequest, Conflict, NotFound
from chalicelib.core.log import log
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import Settings
from chalicelib.core.store import ConditionFailed, Item, Key, key
from chalicelib.core.webhooks.events import ADMIN, event_types
from chalicelib.core.webhooks.transport import DestinationRefused, check_url, public_address

ENDPOINTS_PK = "webhooks#endpoints"
ACTIVE = "active"
DISABLED = "disabled"
MAX_URL = 2048
MAX_DESCRIPTION = 200
# Per owner (the admin, each app): enough for any integration, and a bound on fan-out work.
MAX_ENDPOINTS = 50
# After a rotation the old secret still signs (a second v1=) for a day, so receivers can switch.
ROTATION_GRACE_MS = 24 * 3600 * 1000
ENDPOINT_ID_RE = re.compile(r"we_[0-9a-f]{24}")
ALLOWED_FIELDS = {"url", "events", "description"}


def dev_mode(settings: Settings) -> bool:
    """`make dev` (stage local): http and loopback receivers are allowed; nowhere else."""
    return settings.stage == "local"


def endpoint_key(endpoint_id: str) -> Key:
    return key(ENDPOINTS_PK, endpoint_id)


def endpoint_view(item: Item) -> dict[str, Any]:
    return {
        "id": item["id"],
        "url": item["url"],
        "events": list(item["events"]),
        "description": item.get("description"),
        "status": item["status"],
        "failing": bool(item.get("failing")),
        "owner": item["owner"],
        "created_at": iso(item["created_at"]),
        "updated_at": iso(item["updated_at"]),
    }


def _url(settings: Settings, raw: Any) -> str:
    if not isinstance(raw, str) or not 0 < len(raw) <= MAX_URL or not raw.isascii():
        raise BadRequest(f"url must be an ASCII URL of at most {MAX_URL} characters",
                         code="invalid_url")
    if any(ord(c) < 33 for c in raw):
        raise BadRequest("url must not contain spaces or control characters", code="invalid_url")
    dev = dev_mode(settings)
    try:
        host, _, _, _ = check_url(raw, dev=dev)
    except DestinationRefused as exc:
        raise BadRequest(str(exc), code="invalid_url") from None
    if not dev:
        # A literal address is checked now; a name is resolved and checked at every delivery.
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not public_address(str(literal)):
            raise BadRequest("the URL points to a private or reserved address",
                             code="destination_not_allowed")
        if host.lower() == "localhost" or host.lower().endswith((".localhost", ".internal")):
            raise BadRequest("the URL points to a private host", code="destination_not_allowed")
    return raw


def _events(owner: str, raw: Any) -> list[str]:
    known = {t.name: t for t in event_types()}
    allowed = sorted(n for n, t in known.items() if owner == ADMIN or t.app_visible)
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(e, str) for e in raw)
        or len(raw) > len(known)
    ):
        raise BadRequest("events must be a non-empty list of event types",
                         code="invalid_events", details={"allowed": allowed})
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise BadRequest("unknown or not allowed event type(s)", code="invalid_events",
                         details={"unknown": unknown, "allowed": allowed})
    return sorted(set(raw))


def _description(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > MAX_DESCRIPTION or not raw.isprintable():
        raise BadRequest(f"description must be printable text of at most {MAX_DESCRIPTION}",
                         code="invalid_description")
    return raw


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(32)


def register(rt: Runtime, owner: str, body: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - ALLOWED_FIELDS)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}", code="unknown_field",
                         details={"fields": unknown, "allowed": sorted(ALLOWED_FIELDS)})
    url = _url(rt.settings, body.get("url"))
    events = _events(owner, body.get("events"))
    description = _description(body.get("description"))
    if sum(1 for e in list_endpoints(rt) if e["owner"] == owner) >= MAX_ENDPOINTS:
        raise BadRequest(f"at most {MAX_ENDPOINTS} endpoints each", code="too_many_endpoints")
    now = rt.clock.now_ms()
    endpoint_id = "we_" + secrets.token_hex(12)
    secret = new_secret()
    item = {
        **endpoint_key(endpoint_id),
        "id": endpoint_id,
        "owner": owner,
        "url": url,
        "events": events,
        "description": description,
        "status": ACTIVE,
        "failing": False,
        "consecutive_failures": 0,
        "secret": secret,
        "created_at": now,
        "updated_at": now,
    }
    rt.store.put_new(item)
    log("webhook_registered", endpoint_id=endpoint_id, owner=owner, events=events)
    return {**endpoint_view(item), "secret": secret}


def list_endpoints(rt: Runtime) -> list[Item]:
    """Every endpoint (one partition, read page by page)."""
    found: list[Item] = []
    cursor = None
    while True:
        items, cursor = rt.store.query(ENDPOINTS_PK, limit=100, cursor=cursor, consistent=True)
        found += items
        if cursor is None:
            return found


def owned(rt: Runtime, owner: str, endpoint_id: str) -> Item:
    """The endpoint, if `owner` may manage it (admin: all; an app: its own); 404 otherwise."""
    item = None
    if ENDPOINT_ID_RE.fullmatch(endpoint_id):
        item = rt.store.get(**endpoint_key(endpoint_id))
    if item is None or (owner != ADMIN and item["owner"] != owner):
        raise NotFound("no webhook endpoint with this id", code="webhook_not_found")
    return item


def listing(rt: Runtime, owner: str) -> dict[str, Any]:
    items = [i for i in list_endpoints(rt) if owner == ADMIN or i["owner"] == owner]
    return {"endpoints": [endpoint_view(i) for i in items]}


def set_status(rt: Runtime, owner: str, endpoint_id: str, status: str) -> dict[str, Any]:
    item = owned(rt, owner, endpoint_id)
    changes: dict[str, Any] = {"status": status, "updated_at": rt.clock.now_ms()}
    if status == ACTIVE:
        changes.update(failing=False, consecutive_failures=0)
    updated = _update(rt, item, changes)
    log("webhook_" + ("enabled" if status == ACTIVE else "disabled"), endpoint_id=endpoint_id)
    return endpoint_view(updated)


def rotate(rt: Runtime, owner: str, endpoint_id: str) -> dict[str, Any]:
    item = owned(rt, owner, endpoint_id)
    now = rt.clock.now_ms()
    secret = new_secret()
    updated = _update(rt, item, {
        "secret": secret,
        "old_secret": item["secret"],
        "old_secret_until": now + ROTATION_GRACE_MS,
        "updated_at": now,
    })
    log("webhook_secret_rotated", endpoint_id=endpoint_id)
    return {**endpoint_view(updated), "secret": secret,
            "previous_secret_valid_until": iso(now + ROTATION_GRACE_MS)}


def delete(rt: Runtime, owner: str, endpoint_id: str) -> None:
    owned(rt, owner, endpoint_id)
    rt.store.delete(endpoint_key(endpoint_id))
    log("webhook_deleted", endpoint_id=endpoint_id)


def signing_secrets(item: Item, now: int) -> list[str]:
    out = [item["secret"]]
    if item.get("old_secret") and int(item.get("old_secret_until", 0)) > now:
        out.append(item["old_secret"])
    return out


def _update(rt: Runtime, item: Item, changes: dict[str, Any]) -> Item:
    try:
        return rt.store.update(
            endpoint_key(item["id"]), set=changes,
            condition=Attr("updated_at").eq(item["updated_at"]),
        )
    except ConditionFailed as exc:
        raise Conflict("the endpoint changed meanwhile; read it again",
                       code="webhook_changed") from exc
