"""Structured JSON logs: one line per event, carrying the ids of what it touches.

Values under keys that look secret are masked, so a careless call cannot leak a key.
"""

from __future__ import annotations

import json
import logging
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
