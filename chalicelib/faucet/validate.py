"""Strict input checks shared by the event, code and claim routes: each bad input is a 400."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from chalicelib.core.clock import iso, parse_iso
from chalicelib.core.errors import BadRequest, NotFound
from chalicelib.core.parse import clean_text
from chalicelib.core.settings import Settings

PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
DAY_MS = 86_400_000


def require_events(settings: Settings) -> None:
    """The global switch (EVENTS_ENABLED): off, events cannot be created or claimed."""
    if not settings.events_enabled:
        raise NotFound("event claim codes are switched off", code="events_disabled")


def only_fields(body: dict[str, Any], allowed: Iterable[str]) -> None:
    """Refuse unknown fields: a typo in a money request must not be silently ignored."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(
            f"unknown field(s): {', '.join(unknown)}",
            code="unknown_field",
            details={"fields": unknown},
        )


def text_field(body: dict[str, Any], name: str, max_len: int, *, required: bool = True) -> str:
    return clean_text(body.get(name), name, max_len, required=required)


def int_field(body: dict[str, Any], name: str, default: int | None, lo: int, hi: int) -> int:
    """A JSON integer within [lo, hi]; bools, floats (even 3.0) and strings are refused."""
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise BadRequest(
            f"{name} must be an integer from {lo} to {hi}",
            code=f"invalid_{name}",
            details={"min": lo, "max": hi},
        )
    return value


def expiry(value: Any, now: int, horizon_days: int) -> int:
    """An ISO-8601 time with a zone, in the future and within the configured horizon."""
    try:
        at = parse_iso(value)
    except (ValueError, TypeError, OverflowError, OSError):
        raise BadRequest(
            "expires_at must be an ISO-8601 time with a zone, e.g. 2026-10-01T18:00:00Z",
            code="invalid_expires_at",
        ) from None
    if at <= now:
        raise BadRequest("expires_at must be in the future", code="invalid_expires_at")
    latest = now + horizon_days * DAY_MS
    if at > latest:
        raise BadRequest(
            f"expires_at must be within {horizon_days} days",
            code="invalid_expires_at",
            details={"latest": iso(latest)},
        )
    return at


def prefix(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not PREFIX_RE.match(value):
        raise BadRequest(
            "prefix must be 1-16 letters, digits, '_' or '-'", code="invalid_prefix"
        )
    return value
