"""Injectable UTC clock. Everything that compares or records time asks a Clock."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    """Wall-clock time in UTC, as epoch milliseconds."""

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def now_s(self) -> int:
        return self.now_ms() // 1000


class FixedClock(Clock):
    """A clock tests move by hand."""

    def __init__(self, now_ms: int) -> None:
        self._now_ms = now_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now_ms

    def advance(self, ms: int) -> None:
        with self._lock:
            self._now_ms += ms

    def set(self, now_ms: int) -> None:
        with self._lock:
            self._now_ms = now_ms


def iso(ms: int) -> str:
    """Epoch milliseconds -> ISO-8601 UTC with a `Z`, millisecond precision."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_iso(text: str) -> int:
    """ISO-8601 with an explicit zone (`Z` or offset) -> epoch milliseconds.

    Naive timestamps are refused: a time without a zone is ambiguous.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("expected an ISO-8601 timestamp string")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        raise ValueError("timestamp must carry a zone, e.g. 2026-01-01T00:00:00Z")
    return int(dt.timestamp() * 1000)
