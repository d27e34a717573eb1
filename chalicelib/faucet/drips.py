"""Drips: `POST /v1/faucet/drip` and `GET /v1/faucet/status`.

One drip is one transaction: a rate-limit slot of the wallet, a slot of the client IP, the drip
record, the payout intent (key `drip:<drip_id>`) and the statistics counters. Either all of it
exists or none of it does, so a refused drip uses no quota and a counted drip always has a payout.

The drip's id (and so its payout key) is fixed before the first attempt: a lost slot race tries
other slots for the *same* drip, whose record is created only if absent, so one request makes at
most one drip. With an `Idempotency-Key` the id comes from the key: a client's retry (even a
concurrent one) answers the drip the first request made (core/idempotency.py).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.clientip import ip_subject
from chalicelib.core.clock import iso
from chalicelib.core.errors import DependencyUnavailable, RateLimited
from chalicelib.core.idempotency import RequestIdentity, identity
from chalicelib.core.log import log
from chalicelib.core.money import format_amount
from chalicelib.core.outbox.intents import intent_op, make_intent
from chalicelib.core.outbox.purposes import register_owner
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, TransactionFailed, put_op
from chalicelib.core.wallets import FAUCET
from chalicelib.faucet import config, ratelimit, stats
from chalicelib.faucet.keys import drip_key, drip_slot_key
from chalicelib.faucet.ratelimit import IP, WALLET, Slots, Subject
from chalicelib.faucet.wallets import drip_wallet

DRIP_OWNER = "drip"
register_owner(DRIP_OWNER, FAUCET)  # drips are paid from the faucet wallet only
PENDING = "pending"


class DripRateLimited(RateLimited):
    """The wallet or the client IP has used every drip of the current window (429)."""

    code = "drip_rate_limited"


def request_drip(
    rt: Runtime, body: dict[str, Any], client_ip: str, idempotency_key: str | None = None
) -> dict[str, Any]:
    return record_drip(rt, body, client_ip, idempotency_key)[0]


def record_drip(
    rt: Runtime, body: dict[str, Any], client_ip: str, idempotency_key: str | None = None
) -> tuple[dict[str, Any], bool]:
    """The 202 body of the drip this request made, and whether it is a replay (nothing new)."""
    settings = rt.settings
    asset, decimals, amount = config.drip_units(settings)
    wallet = drip_wallet(settings, body.get("wallet"))  # a bad wallet is refused before any write
    who = identity("drip", idempotency_key, body)
    subjects = [Subject(WALLET, wallet.lower()), Subject(IP, ip_subject(client_ip))]
    drip_id = who.derive("dr_", 24)
    if who.keyed:
        made = rt.store.get(**drip_key(drip_id))
        if made is not None:
            return _replay(rt, who, made, subjects), True
    intent = make_intent(
        f"drip:{drip_id}", asset, wallet, amount, DRIP_OWNER, drip_id, purpose=FAUCET
    )
    with who.unresolved():
        return _drip(rt, who, drip_id, intent, subjects, decimals)


def _drip(
    rt: Runtime, who: RequestIdentity, drip_id: str, intent: Any, subjects: list[Subject],
    decimals: int,
) -> tuple[dict[str, Any], bool]:
    settings = rt.settings
    limit = settings.drip_max_requests
    window_ms = settings.drip_window_seconds * 1000
    # Every lost race means another drip took a slot of one of the two subjects, and each has
    # `limit` slots: past this many attempts everything is taken and the answer is a 429.
    for _ in range(2 * limit + 2):
        now = rt.clock.now_ms()
        slots = [ratelimit.read(rt.store, s, limit) for s in subjects]
        picks = [ratelimit.pick(s, limit, now) for s in slots]
        if None in picks:
            raise _limited(slots, limit, now)
        taken = [
            ratelimit.take_op(s.subject, i, now, window_ms, drip_id)
            for s, i in zip(slots, picks, strict=True)
        ]
        record = {
            **drip_key(drip_id),
            "id": drip_id,
            "wallet": intent.to,
            "asset": intent.asset,
            "amount": str(intent.amount),
            "payout_id": intent.id,
            "status": PENDING,
            # The slots it holds, so a failed payout can give exactly these back.
            "slots": [
                drip_slot_key(s.subject.kind, s.subject.id, i)
                for s, i in zip(slots, picks, strict=True)
            ],
            "created_at": now,
            **who.stamp(),
        }
        ops = [*taken, put_op(record, if_absent=True, name="drip"), intent_op(intent, now),
               *stats.drip_ops(intent.amount, now)]
        try:
            rt.store.transact(ops)
        except TransactionFailed as exc:
            made = exc.failed("drip")
            if made is not None:
                # This drip exists already: a concurrent request with the same key made it.
                current = made.item or rt.store.get(**drip_key(drip_id))
                if current is not None:
                    return _replay(rt, who, current, subjects), True
            if any(exc.failed(s.op_name) for s in subjects):
                continue  # a concurrent drip took that slot: read again
            raise
        log("drip_requested", drip_id=drip_id, payout_id=intent.id, wallet=intent.to)
        after = [s.taken(i, now + window_ms) for s, i in zip(slots, picks, strict=True)]
        return _view(rt, record, decimals, max(s.next_free_at(limit, now) for s in after)), False
    raise DependencyUnavailable("the faucet is busy, try again")


def _view(rt: Runtime, record: Item, decimals: int, next_at: int) -> dict[str, Any]:
    return {
        "drip_id": record["id"],
        "payout_id": record["payout_id"],
        "wallet": record["wallet"],
        "asset": config.symbol_of(rt.settings, record["asset"]),
        "amount": format_amount(int(record["amount"]), decimals),
        "status": "requested",
        "next_available_at": iso(next_at),
    }


def _replay(
    rt: Runtime, who: RequestIdentity, made: Item, subjects: list[Subject]
) -> dict[str, Any]:
    """The drip a request with this key made (409 if its body differed); nothing is written."""
    who.check(made, "drip_id")
    _, decimals, _ = config.drip_units(rt.settings)
    limit, now = rt.settings.drip_max_requests, rt.clock.now_ms()
    slots = [ratelimit.read(rt.store, s, limit) for s in subjects]
    return _view(rt, made, decimals, max(s.next_free_at(limit, now) for s in slots))


def _limited(slots: list[Slots], limit: int, now: int) -> DripRateLimited:
    next_at = max(s.next_free_at(limit, now) for s in slots)
    scopes = [s.subject.kind for s in slots if not s.free(limit, now)]
    return DripRateLimited(
        f"at most {limit} drip(s) per wallet and per client every window; try again later",
        retry_after=-(-(next_at - now) // 1000),
        details={"next_available_at": iso(next_at), "limited_by": scopes},
    )


def faucet_status(rt: Runtime) -> dict[str, Any]:
    settings = rt.settings
    asset, decimals = config.faucet_asset(settings)
    figures = stats.read(rt.store, rt.clock.now_ms())
    for scope in ("totals", "last_24h"):
        figures[scope]["amount"] = format_amount(figures[scope]["amount"], decimals)
    drip = config.setting_units(settings.drip_amount, decimals, "DRIP_AMOUNT")
    return {
        "asset": config.symbol_of(settings, asset),
        "drip_amount": format_amount(drip, decimals),
        "enabled": settings.drip_max_requests > 0,
        "max_requests": settings.drip_max_requests,
        "window_seconds": settings.drip_window_seconds,
        **figures,
    }
