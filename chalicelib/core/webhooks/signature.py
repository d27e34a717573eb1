"""`Settlekit-Signature: t=<unix>,v1=<hex>`: HMAC-SHA256 of "<t>.<body>" under the secret.

The scheme payment providers use. While a rotated secret's grace period lasts, one `v1=` is sent
per valid secret, so a receiver can switch secrets without dropping a delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable

HEADER = "Settlekit-Signature"
# A receiver should refuse a signature older than this (replays of a captured request).
DEFAULT_TOLERANCE_S = 300
# Unix seconds in ASCII digits (str.isdigit() would pass "²", which int() refuses).
ASCII_STAMP_RE = re.compile(r"[0-9]{1,12}")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def header(secrets_: Iterable[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets_)])


def verify(
    secret: str, value: str, body: bytes, *, now: float | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> bool:
    """What a receiver does: a fresh timestamp and one matching v1 (compared in constant time)."""
    parts = [p.partition("=") for p in value.split(",")]
    stamps = [v for k, _, v in parts if k.strip() == "t"]
    given = [v.strip() for k, _, v in parts if k.strip() == "v1"]
    if len(stamps) != 1 or not ASCII_STAMP_RE.fullmatch(stamps[0].strip()) or not given:
        return False
    t = int(stamps[0])
    if abs((time.time() if now is None else now) - t) > tolerance_s:
        return False
    expected = sign(secret, t, body)
    return any(hmac.compare_digest(expected, g) for g in given)
