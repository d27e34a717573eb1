"""Apps that anchor: created by the admin, identified by an API key shown once and stored hashed.

A key is `<app_id>.<64 hex>`: the app id in front finds the app item with one read (no index),
the secret part carries 256 bits, so a plain SHA-256 of the whole key is a safe thing to store
(a slow password hash buys nothing against a random 256-bit secret). Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.anchoring.model import app_key
from chalicelib.core.auth import bearer_token
from chalicelib.core.clock import iso
from chalicelib.core.errors import Conflict, NotFound, Unauthorized
from chalicelib.core.log import log
from chalicelib.core.parse import clean_text, parse_count
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import ConditionFailed, Item

ACTIVE = "active"
REVOKED = "revoked"
MAX_NAME = 100
APP_ID_RE = re.compile(r"^app_[0-9a-f]{16}$")
API_KEY_RE = re.compile(r"^(app_[0-9a-f]{16})\.[0-9a-f]{64}$")
APPS_LISTING = "anchor#apps"
PAGE_MAX = 100


def _digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def app_view(app: Item) -> dict[str, Any]:
    return {
        "app_id": app["app_id"],
        "name": app["name"],
        "status": app["status"],
        "created_at": iso(app["created_at"]),
        "revoked_at": iso(app["revoked_at"]) if app.get("revoked_at") else None,
    }


def create_app(rt: Runtime, body: Mapping[str, Any]) -> dict[str, Any]:
    """A new app and its key; the key is in this answer and nowhere else, ever."""
    name = clean_text(body.get("name"), "name", MAX_NAME)
    app_id = "app_" + secrets.token_hex(8)
    api_key = f"{app_id}.{secrets.token_hex(32)}"
    now = rt.clock.now_ms()
    item = {
        **app_key(app_id),
        "app_id": app_id,
        "name": name,
        "key_sha256": _digest(api_key),
        "status": ACTIVE,
        "created_at": now,
        # Listed for the admin through the work index (no Scan).
        "wpk": APPS_LISTING,
        "wsk": f"{now:013d}#{app_id}",
    }
    rt.store.put_new(item)
    log("app_created", app_id=app_id)
    return {**app_view(item), "api_key": api_key}


def revoke_app(rt: Runtime, app_id: str) -> dict[str, Any]:
    """Revoke an app's key at once; revoking a revoked app changes nothing and says so."""
    if not APP_ID_RE.match(app_id):
        raise NotFound("no app with this id", code="app_not_found")
    now = rt.clock.now_ms()
    try:
        item = rt.store.update(
            app_key(app_id),
            set={"status": REVOKED, "revoked_at": now},
            condition=Attr("status").eq(ACTIVE),
        )
    except ConditionFailed as exc:
        if exc.item is None:
            raise NotFound("no app with this id", code="app_not_found") from None
        return app_view(exc.item)
    log("app_revoked", app_id=app_id)
    return app_view(item)


def list_apps(rt: Runtime, raw_limit: str | None, cursor: str | None) -> dict[str, Any]:
    """Apps, oldest first (never their keys: only their hashes are stored)."""
    size = parse_count(raw_limit or None, "limit", default=50, maximum=PAGE_MAX)
    items, nxt = rt.store.query_work(APPS_LISTING, limit=size, cursor=cursor)
    return {"apps": [app_view(i) for i in items], "next": nxt}


def rotate_key(rt: Runtime, app_id: str) -> dict[str, Any]:
    """A new key for the same app (its messages stay its own); the old key stops working now."""
    if not APP_ID_RE.match(app_id):
        raise NotFound("no app with this id", code="app_not_found")
    api_key = f"{app_id}.{secrets.token_hex(32)}"
    now = rt.clock.now_ms()
    try:
        item = rt.store.update(
            app_key(app_id),
            set={"key_sha256": _digest(api_key), "key_rotated_at": now},
            condition=Attr("status").eq(ACTIVE),
        )
    except ConditionFailed as exc:
        if exc.item is None:
            raise NotFound("no app with this id", code="app_not_found") from None
        raise Conflict("a revoked app's key cannot be rotated", code="app_revoked") from None
    log("app_key_rotated", app_id=app_id)
    return {**app_view(item), "api_key": api_key}


def authenticate(rt: Runtime, headers: Mapping[str, str]) -> Item:
    """The active app whose key the request carries as a bearer token; 401 otherwise."""
    given = bearer_token(headers)
    if given is None:
        raise Unauthorized("an app API key is required", code="api_key_missing")
    match = API_KEY_RE.match(given)
    app = rt.store.get(**app_key(match.group(1))) if match else None
    if app is None or not hmac.compare_digest(app["key_sha256"], _digest(given)):
        raise Unauthorized("the API key is not valid", code="api_key_invalid")
    if app["status"] != ACTIVE:
        raise Unauthorized("the API key was revoked", code="api_key_revoked")
    return app
