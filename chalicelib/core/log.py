"""Structured JSON logs: one line per event, carrying the ids of what it touches.

Values under keys that look secret are masked, so a careless call cannot leak a key.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

_logger = logging.getLogger("settlekit")
if not _logger.handlers:
    _handler = logging.StreamHandler(sys.stdout)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.addHandler(_handler)
    _logger.setLevel(logging.INFO)
    _logger.propagate = False

SECRET_HINTS = ("private_key", "api_key", "secret", "token", "password", "authorization", "raw_tx")


# What a secret looks like inside an exception's message: a 32-byte hex key, a bearer token, an
# app API key. Masked in logged tracebacks (frames show code, never local values).
SECRET_TEXT_RE = re.compile(
    r"(0x)?[0-9a-fA-F]{64}|(?i:bearer)\s+\S+|app_[0-9a-f]{16}\.[0-9a-f]{64}"
)
MAX_TRACEBACK_CHARS = 8_000


def traceback_text(exc: BaseException, secrets: list[str] | None = None) -> str:
    """The exception's traceback for the server log, secrets masked, bounded in size.

    Masked: anything shaped like a key or token, and each of `secrets` (configured values).
    """
    import traceback  # only on the (rare) unhandled error: not part of every cold start

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    for secret in secrets or []:
        text = text.replace(secret, "***")
    return SECRET_TEXT_RE.sub("***", text)[-MAX_TRACEBACK_CHARS:]


def _safe(name: str, value: Any) -> Any:
    if any(h in name.lower() for h in SECRET_HINTS):
        return "***"
    return value


def log(event: str, level: int = logging.INFO, **fields: Any) -> dict[str, Any]:
    record = {"event": event, **{k: _safe(k, v) for k, v in fields.items()}}
    _logger.log(level, json.dumps(record, default=str, sort_keys=True))
    return record


def alert(event: str, **fields: Any) -> None:
    """A state a human must look at. Callers raise it once per transition, not per poll.

    Also published to the alert topic (SNS) when one is configured.
    """
    record = log(event, logging.ERROR, alert=True, **fields)
    from chalicelib.core.alerts import publish

    publish(event, record)
