"""Invalid-code attempts, limited per client IP so codes cannot be brute-forced.

Only the client's own item is ever written: an unknown code is found out by a read, so a flood
of guesses takes no lock on anything another client uses. Fixed windows, one counter item per
client and window (`ratelimit#claims#ip#<hashed ip>` / `invalid#<window>`), so counting a miss
is one conditional ADD. A claim of a real code carries `blocked_check` in its transaction, so a
blocked client learns nothing about which of its guesses exist: every answer is the same 429
until the window ends.
"""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr, ConditionBase

from chalicelib.core.errors import RateLimited
from chalicelib.core.settings import Settings
from chalicelib.core.store import ConditionFailed, DynamoStore, Key, Op, check_op
from chalicelib.faucet.keys import invalid_attempts_key

OP_NAME = "attempts"
# Window counters are garbage (TTL) a day after their window ends.
GC_GRACE_S = 86_400


class TooManyInvalidCodes(RateLimited):
    """Too many unknown codes from this client in the current window (429)."""

    code = "too_many_invalid_codes"


def _window(settings: Settings, subject: str, now: int) -> tuple[Key, int]:
    """(this client's counter for the current window, when the window ends in ms)."""
    size = settings.claim_invalid_window_seconds * 1000
    number = now // size
    return invalid_attempts_key(subject, number), (number + 1) * size


def limited(settings: Settings, now: int) -> TooManyInvalidCodes:
    size = settings.claim_invalid_window_seconds * 1000
    ends = (now // size + 1) * size
    return TooManyInvalidCodes(
        "too many invalid codes from this client; try again later",
        retry_after=-(-(ends - now) // 1000),
    )


def _open(settings: Settings) -> ConditionBase:
    return Attr("pk").not_exists() | Attr("count").lt(settings.claim_invalid_max_attempts)


def blocked_check(settings: Settings, subject: str, now: int) -> Op:
    """A transaction item that cancels the claim while this client is blocked."""
    k, _ = _window(settings, subject, now)
    return check_op(k, _open(settings), name=OP_NAME)


def raise_if_blocked(store: DynamoStore, settings: Settings, subject: str, now: int) -> None:
    """TooManyInvalidCodes while this client is blocked: one read, for answers that would
    otherwise tell a blocked client something about a code (taken, revoked, its claim)."""
    k, _ = _window(settings, subject, now)
    item = store.get(**k, consistent=False)
    if item is not None and int(item.get("count", 0)) >= settings.claim_invalid_max_attempts:
        raise limited(settings, now)


def record_miss(store: DynamoStore, settings: Settings, subject: str, now: int) -> None:
    """Count one miss; TooManyInvalidCodes when the client is already at the limit."""
    k, ends = _window(settings, subject, now)
    try:
        store.update(k, set={"gc_at": ends // 1000 + GC_GRACE_S}, add={"count": 1},
                     condition=_open(settings))
    except ConditionFailed:
        raise limited(settings, now) from None
