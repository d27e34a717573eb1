"""Named crash points at the step boundaries of money flows.

`hit(name)` does nothing unless a test armed that name; then it raises InjectedCrash, which
derives from BaseException so that no `except Exception` on the way up can swallow it — the
process "dies" exactly there, and the test then runs the recovery and asserts on the chain.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_armed: dict[str, int] = {}
_lock = threading.Lock()


class InjectedCrash(BaseException):
    """A simulated process death at a named step boundary."""


def hit(name: str) -> None:
    if not _armed:
        return
    with _lock:
        remaining = _armed.get(name)
        if remaining is None:
            return
        if remaining <= 1:
            del _armed[name]
        else:
            _armed[name] = remaining - 1
    raise InjectedCrash(name)


@contextmanager
def armed(name: str, times: int = 1) -> Iterator[None]:
    """Crash the next `times` passes through `name` (tests only)."""
    with _lock:
        _armed[name] = times
    try:
        yield
    finally:
        with _lock:
            _armed.pop(name, None)
