"""The grammar every input is held to, shared by the HTTP boundary and the flows.

Python's own predicates are too generous for untrusted input: `str.isdigit()` is true for "²",
which `int()` then refuses; `int()` refuses more than 4,300 digits; JSON can carry lone UTF-16
surrogates that no UTF-8 encoder (DynamoDB's, EIP-712's) accepts. These parsers accept exactly
the documented grammar and answer BadRequest naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.core.errors import BadRequest

ASCII_DIGITS_RE = re.compile(r"[0-9]+")
SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# C0 controls and DEL (and the C1 block): never part of a name a person reads.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same rule as a JSON Schema pattern, so the OpenAPI document states it.
TEXT_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"


def is_ascii_digits(text: Any, max_len: int = 18) -> bool:
    """Only 0-9, 1..max_len of them: safe to hand to int()."""
    return isinstance(text, str) and len(text) <= max_len and bool(ASCII_DIGITS_RE.fullmatch(text))


def parse_count(
    raw: str | None,
    field: str,
    *,
    default: int,
    minimum: int = 1,
    maximum: int,
    code: str | None = None,
) -> int:
    """A query/path integer in [minimum, maximum]; the default when absent."""
    if raw is None:
        return default
    if not is_ascii_digits(raw, len(str(maximum))) or not minimum <= int(raw) <= maximum:
        raise BadRequest(
            f"{field} must be an integer from {minimum} to {maximum}",
            code=code or f"invalid_{field}",
            details={"field": field, "min": minimum, "max": maximum},
        )
    return int(raw)


def well_formed(text: str) -> bool:
    """No lone surrogates: the text can be encoded as UTF-8."""
    return not SURROGATE_RE.search(text)


def clean_text(value: Any, field: str, max_len: int, *, required: bool = True) -> str:
    """A human-readable name: a string of 1..max_len characters (after trimming), well-formed,
    without control characters. "" for an absent optional field."""
    if value is None and not required:
        return ""
    text = value.strip() if isinstance(value, str) else None
    if not text or len(text) > max_len or not well_formed(text) or CONTROL_RE.search(text):
        raise BadRequest(
            f"{field} must be 1..{max_len} characters of text without control characters",
            code=f"invalid_{field}",
            details={"field": field},
        )
    return text


def first_malformed_string(value: Any, path: str = "") -> str | None:
    """The path of the first string (key or value) holding a lone surrogate, or None."""
    if isinstance(value, str):
        return None if well_formed(value) else (path or "body")
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            if not well_formed(str(k)):
                return path or "body"
            found = first_malformed_string(v, here)
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = first_malformed_string(v, f"{path}[{i}]")
            if found:
                return found
    return None
