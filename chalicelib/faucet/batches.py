"""Code batches: `POST /v1/events/{id}/codes` made resumable, and a batch's codes listed.

500 codes take several transactions (codes.CODES_PER_TRANSACTION each). A batch has an id
(`batch_id` in the body, else derived from the `Idempotency-Key`, else drawn once), and each of
its transactions writes one *part* item next to its codes:

  codebatch#<event_id>#<batch_id> / part#NNN     codes, count, prefix, created_at

A part exists exactly when its codes do (same transaction; created only if absent). So a request
repeated with the same batch id after a timeout reads the parts that committed, creates only the
missing ones and answers every code of the batch once; a concurrent repeat that creates the same
part first is read back the same way. `GET /v1/events/{id}/code-batches/{batch_id}` lists them.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.core.clock import iso
from chalicelib.core.errors import BadRequest, Conflict, DependencyUnavailable, Gone, NotFound
from chalicelib.core.idempotency import identity
from chalicelib.core.log import log
from chalicelib.core.money import format_amount
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, Key, TransactionFailed, key, put_op
from chalicelib.faucet import codes, counters, validate
from chalicelib.faucet.codes import CODES_PER_TRANSACTION, MAX_CODES
from chalicelib.faucet.config import symbol_of
from chalicelib.faucet.counters import AVAILABLE
from chalicelib.faucet.events import load_event

BATCH_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PART_OP = "part"


class BatchConflict(Conflict):
    """The batch id already names a batch with another count or prefix (409)."""

    code = "batch_conflict"


def parts_pk(event_id: str, batch_id: str) -> str:
    return f"codebatch#{event_id}#{batch_id}"


def part_key(event_id: str, batch_id: str, index: int) -> Key:
    return key(parts_pk(event_id, batch_id), f"part#{index:03d}")


def parse_batch_id(value: Any) -> str:
    if not isinstance(value, str) or not BATCH_ID_RE.match(value):
        raise BadRequest(
            "batch_id must be 1-64 letters, digits, '_' or '-'", code="invalid_batch_id"
        )
    return value


def create_codes(
    rt: Runtime, event_id: str, body: dict[str, Any], idempotency_key: str | None = None
) -> tuple[dict[str, Any], bool]:
    """The batch's codes (every one, once) and whether nothing new had to be created."""
    validate.require_events(rt.settings)
    validate.only_fields(body, ("count", "prefix", "batch_id"))
    count = validate.int_field(body, "count", None, 1, MAX_CODES)
    prefix = validate.prefix(body.get("prefix"))
    who = identity(f"codes#{event_id}", idempotency_key, body)
    given = body.get("batch_id")
    batch_id = parse_batch_id(given) if given is not None else who.derive("cb_", 24)
    event = load_event(rt.store, event_id)
    sizes = [min(CODES_PER_TRANSACTION, count - s) for s in range(0, count, CODES_PER_TRANSACTION)]
    # A batch id the client chose (or derived from its key) may have parts already.
    made = _parts(rt, event_id, batch_id) if (given is not None or who.keyed) else {}
    for part in made.values():
        _same_batch(part, count, prefix)
    missing = [i for i in range(len(sizes)) if i not in made]
    if missing:
        now = rt.clock.now_ms()
        _require_open(event, now)
        with who.unresolved():
            for i in missing:
                made[i] = _create_part(rt, event, batch_id, i, sizes[i], count, prefix, now)
        log("codes_created", event_id=event_id, batch_id=batch_id,
            count=sum(sizes[i] for i in missing))
    created = [c for i in range(len(sizes)) for c in made[i]["codes"]]
    return _view(rt, event, batch_id, created), not missing


def list_batch(rt: Runtime, event_id: str, batch_id: str) -> dict[str, Any]:
    """Every code of a batch, in order, and whether the batch is complete."""
    event = load_event(rt.store, event_id)
    made = _parts(rt, event_id, parse_batch_id(batch_id))
    if not made:
        raise NotFound("no code batch with this id", code="batch_not_found")
    first = next(iter(made.values()))
    count = int(first["count"])
    parts = -(-count // CODES_PER_TRANSACTION)
    created = [c for i in sorted(made) for c in made[i]["codes"]]
    return {**_view(rt, event, batch_id, created), "requested": count,
            "complete": len(made) == parts}


def _require_open(event: Item, now: int) -> None:
    if event["status"] != counters.ACTIVE:
        raise NotFound("this event is disabled", code="event_disabled")
    if now >= int(event["expires_at"]):
        raise Gone("this event has expired", code="event_expired")


def _parts(rt: Runtime, event_id: str, batch_id: str) -> dict[int, Item]:
    """The parts that committed (consistent: a part written by a lost answer is seen)."""
    items, _ = rt.store.query(
        parts_pk(event_id, batch_id), sk_prefix="part#", limit=MAX_CODES, consistent=True
    )
    return {int(i["index"]): i for i in items}


def _same_batch(part: Item, count: int, prefix: str | None) -> None:
    if int(part["count"]) != count or part.get("prefix") != prefix:
        raise BatchConflict(
            "this batch_id already names a batch with another count or prefix",
            details={"batch_id": part["batch_id"], "count": int(part["count"]),
                     "prefix": part.get("prefix")},
        )


def _create_part(
    rt: Runtime, event: Item, batch_id: str, index: int, size: int, count: int,
    prefix: str | None, now: int,
) -> Item:
    batch: list[str] = []
    for _ in range(size):
        batch.append(codes.fresh(prefix, set(batch)))
    for _ in range(codes.COLLISION_RETRIES + 1):
        part = {
            **part_key(event["id"], batch_id, index),
            "event_id": event["id"], "batch_id": batch_id, "index": index, "count": count,
            "prefix": prefix, "codes": list(batch), "created_at": now,
        }
        ops = [put_op(codes.code_item(event, c, now), if_absent=True, name=f"code:{i}")
               for i, c in enumerate(batch)]
        ops.append(counters.count_op(event["id"], {AVAILABLE: size}, require_active=True))
        ops.append(put_op(part, if_absent=True, name=PART_OP))
        try:
            rt.store.transact(ops)
            return part
        except TransactionFailed as exc:
            taken = exc.failed(PART_OP)
            if taken is not None:
                # A concurrent repeat of this batch wrote this part first: its codes count.
                current = taken.item or rt.store.get(**part_key(event["id"], batch_id, index))
                if current is not None:
                    _same_batch(current, count, prefix)
                    return current
            if exc.failed("event"):
                raise NotFound("this event is disabled", code="event_disabled") from None
            collided = [f.index for f in exc.failures if f.name.startswith("code:")]
            if not collided:
                raise
            log("code_collision_retried", event_id=event["id"], collisions=len(collided))
            for i in collided:
                batch[i] = codes.fresh(prefix, set(batch))
    raise DependencyUnavailable("could not create unique codes, try again")


def _view(rt: Runtime, event: Item, batch_id: str, created: list[str]) -> dict[str, Any]:
    return {
        "event_id": event["id"],
        "batch_id": batch_id,
        "count": len(created),
        "asset": symbol_of(rt.settings, event["asset"]),
        "amount": format_amount(int(event["amount"]), int(event["decimals"])),
        "expires_at": iso(int(event["expires_at"])),
        "codes": created,
    }
