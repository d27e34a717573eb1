"""Events: an organizer's batch of claim codes that each pay one fixed amount until a deadline.

Created, read and disabled with the admin token. The event item holds what every code of it pays
(asset, amount, expiry: fixed at creation); its counter shards hold its status and its counts.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.assets import resolve_asset
from chalicelib.core.clock import iso
from chalicelib.core.errors import NotFound
from chalicelib.core.idempotency import RequestIdentity, identity
from chalicelib.core.log import log
from chalicelib.core.money import format_amount, parse_amount
from chalicelib.core.parse import parse_count
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import Settings
from chalicelib.core.store import DynamoStore, Item, TransactionFailed, put_op, update_op
from chalicelib.faucet import config, counters, validate
from chalicelib.faucet.keys import event_key

EVENT_ID_RE = re.compile(r"^ev_[0-9a-f]{16}$")
EVENT_FIELDS = ("name", "amount", "expires_at", "max_claims_per_wallet", "asset")
MAX_CLAIMS_PER_WALLET = 1_000
EVENTS_LISTING = "faucet#events"
LIST_MAX = 100


def max_event_units(settings: Settings, decimals: int) -> int:
    """EVENT_MAX_AMOUNT in base units of an asset (rounded down to what the asset can hold)."""
    return int(Decimal(settings.event_max_amount).scaleb(decimals))


def create_event(rt: Runtime, body: dict[str, Any]) -> dict[str, Any]:
    return record_event(rt, body)[0]


def record_event(
    rt: Runtime, body: dict[str, Any], idempotency_key: str | None = None
) -> tuple[dict[str, Any], bool]:
    """The new event's view, or with a known Idempotency-Key the event it made (a replay).

    The event id is fixed before the first write (from the key when there is one), so neither a
    retried transaction nor a client's retry makes a second event.
    """
    settings = rt.settings
    validate.require_events(settings)
    validate.only_fields(body, EVENT_FIELDS)
    now = rt.clock.now_ms()
    name = validate.text_field(body, "name", 100)
    raw_asset = body.get("asset")
    asset, decimals = resolve_asset(
        settings, _default_asset(settings) if raw_asset is None else raw_asset
    )
    amount = parse_amount(body.get("amount"), decimals,
                          maximum=max_event_units(settings, decimals))
    expires_at = validate.expiry(body.get("expires_at"), now, settings.event_max_horizon_days)
    per_wallet = validate.int_field(body, "max_claims_per_wallet", 1, 1, MAX_CLAIMS_PER_WALLET)
    who = identity("event", idempotency_key, body)
    event_id = who.derive("ev_", 16)
    if who.keyed:
        made = rt.store.get(**event_key(event_id))
        if made is not None:
            return _replay(rt, who, made), True
    event = {
        **event_key(event_id),
        "id": event_id,
        "name": name,
        "asset": asset,
        "decimals": decimals,
        "amount": str(amount),
        "expires_at": expires_at,
        "max_claims_per_wallet": per_wallet,
        "status": counters.ACTIVE,
        "created_at": now,
        **who.stamp(),
        # Listed for the admin through the work index (no Scan), newest first.
        "wpk": EVENTS_LISTING,
        "wsk": f"{now:013d}#{event_id}",
    }
    ops = [put_op(event, if_absent=True, name="event")]
    ops += [put_op(s, if_absent=True, name=s["sk"]) for s in counters.shard_items(event_id)]
    try:
        with who.unresolved():
            rt.store.transact(ops)
    except TransactionFailed as exc:
        made = exc.failed("event")
        current = (made.item if made else None) or rt.store.get(**event_key(event_id))
        if current is None:
            raise
        return _replay(rt, who, current), True  # a concurrent request with this key made it
    log("event_created", event_id=event_id, asset=asset, amount=str(amount))
    return event_view(settings, event, counters.read(rt.store, event_id), now), False


def _replay(rt: Runtime, who: RequestIdentity, made: Item) -> dict[str, Any]:
    who.check(made, "event_id")
    return event_view(rt.settings, made, counters.read(rt.store, made["id"]), rt.clock.now_ms())


def _default_asset(settings: Settings) -> str:
    name = config.faucet_asset_name(settings)
    if name is None:
        raise NotFound("the faucet is not configured on this deployment", code="faucet_disabled")
    return name


def load_event(store: DynamoStore, event_id: str) -> Item:
    event = store.get(**event_key(event_id)) if EVENT_ID_RE.match(event_id) else None
    if event is None:
        raise NotFound("no event with this id", code="event_not_found")
    return event


def get_event(rt: Runtime, event_id: str) -> dict[str, Any]:
    event = load_event(rt.store, event_id)
    return event_view(rt.settings, event, counters.read(rt.store, event_id), rt.clock.now_ms())


def disable_event(rt: Runtime, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The kill switch: from now on its codes can be neither claimed nor created. Idempotent."""
    validate.only_fields(body, ("by",))
    by = validate.text_field(body, "by", 100, required=False) or None
    event = load_event(rt.store, event_id)
    now = rt.clock.now_ms()
    if event["status"] == counters.ACTIVE:
        mark = update_op(
            event_key(event_id),
            set={"status": counters.DISABLED, "disabled_at": now, "disabled_by": by},
            condition=Attr("status").eq(counters.ACTIVE),
            name="event",
        )
        try:
            rt.store.transact([mark, *counters.disable_ops(event_id, now)])
            log("event_disabled", event_id=event_id, by=by)
        except TransactionFailed as exc:
            # Only the event's own condition failing means "disabled concurrently" (the same
            # outcome); any other failure is an error, never a 200 for an event still active.
            lost = exc.failed("event")
            if lost is None or lost.reason != "ConditionalCheckFailed":
                raise
    return get_event(rt, event_id)


def enable_event(rt: Runtime, event_id: str) -> dict[str, Any]:
    """Undo the kill switch: its codes can be claimed (and created) again. Idempotent."""
    event = load_event(rt.store, event_id)
    if event["status"] == counters.DISABLED:
        mark = update_op(
            event_key(event_id),
            set={"status": counters.ACTIVE, "disabled_at": None, "disabled_by": None,
                 "enabled_at": rt.clock.now_ms()},
            condition=Attr("status").eq(counters.DISABLED),
            name="event",
        )
        try:
            rt.store.transact([mark, *counters.enable_ops(event_id)])
            log("event_enabled", event_id=event_id)
        except TransactionFailed:
            pass  # enabled concurrently: the same outcome
    return get_event(rt, event_id)


def list_events(rt: Runtime, raw_limit: str | None, cursor: str | None) -> dict[str, Any]:
    validate.require_events(rt.settings)
    size = parse_count(raw_limit or None, "limit", default=50, maximum=LIST_MAX)
    items, nxt = rt.store.query_work(EVENTS_LISTING, limit=size, cursor=cursor, forward=False)
    now = rt.clock.now_ms()
    shown = [event_view(rt.settings, e, counters.read(rt.store, e["id"]), now) for e in items]
    return {"events": shown, "next": nxt}


def event_view(settings: Settings, event: Item, counts: dict[str, int], now: int) -> dict[str, Any]:
    decimals = int(event["decimals"])
    expired = now >= int(event["expires_at"])
    by_state = {s: counts[s] for s in counters.STATES}
    by_state["expired"] = by_state.pop(counters.AVAILABLE) if expired else 0
    by_state[counters.AVAILABLE] = 0 if expired else counts[counters.AVAILABLE]
    status = event["status"]
    if status == counters.ACTIVE and expired:
        status = "expired"
    return {
        "id": event["id"],
        "name": event["name"],
        "asset": config.symbol_of(settings, event["asset"]),
        "amount": format_amount(int(event["amount"]), decimals),
        "expires_at": iso(int(event["expires_at"])),
        "max_claims_per_wallet": int(event["max_claims_per_wallet"]),
        "status": status,
        "created_at": iso(int(event["created_at"])),
        "disabled_at": iso(int(event["disabled_at"])) if event.get("disabled_at") else None,
        "counts": {**by_state, "total": sum(counts[s] for s in counters.STATES)},
        "failed_attempts": counts[counters.FAILED_ATTEMPTS],
    }
