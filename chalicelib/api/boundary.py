"""Every request is held to its declared operation before a view runs: one boundary, 400s that
name the field.

Path and query parameters and headers are raw strings: an `integer` one must be ASCII digits
(bounded in length before int() sees them) within its range; a `string` one must fit its length,
pattern and enum. Body fields that are present are checked against their property schemas
(types, lengths, patterns, enums, ranges), so hostile values never reach a flow; which fields are
required and how they combine stays with the flow, which answers its own precise 400s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from chalicelib.api.contract import MAX_INT_DIGITS, Op, Schema
from chalicelib.core.errors import BadRequest
from chalicelib.core.parse import is_ascii_digits, well_formed


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _bad(field: str, message: str, schema: Schema | None = None) -> BadRequest:
    """400 `invalid_<field>` (or the schema's own `x-error-code`), naming the field."""
    name = re.sub(r"[^a-z0-9_]", "_", field.lower().split(".")[0].split("[")[0]) or "field"
    code = (schema or {}).get("x-error-code") or f"invalid_{name}"
    return BadRequest(f"{field} {message}", code=code, details={"field": field})


def check_raw(field: str, raw: str, schema: Schema) -> None:
    """A parameter's raw string against its schema."""
    if not well_formed(raw):
        raise _bad(field, "is not well-formed text", schema)
    if schema.get("type") == "integer":
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if not is_ascii_digits(raw, MAX_INT_DIGITS) or (
            lo is not None and int(raw) < lo) or (hi is not None and int(raw) > hi):
            raise _bad(field, f"must be an integer from {lo} to {hi}", schema)
        return
    _check_string(field, raw, schema)


def _check_string(field: str, value: str, schema: Schema) -> None:
    if not well_formed(value):
        raise _bad(field, "is not well-formed text", schema)
    if "enum" in schema and value not in schema["enum"]:
        raise _bad(field, f"must be one of {', '.join(map(str, schema['enum']))}", schema)
    if len(value) > schema.get("maxLength", len(value)) or len(value) < schema.get("minLength", 0):
        size = f"{schema.get('minLength', 0)}..{schema['maxLength']}"
        raise _bad(field, f"must be {size} characters", schema)
    pattern = schema.get("pattern")
    if pattern and not _regex(pattern).search(value):
        raise _bad(field, "has characters or a form this field does not take", schema)


def check_value(field: str, value: Any, schema: Schema) -> None:
    """A JSON value against its schema (the subset of JSON Schema the contract uses)."""
    kind = schema.get("type")
    if kind == "string":
        if not isinstance(value, str):
            raise _bad(field, "must be a string", schema)
        _check_string(field, value, schema)
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(field, "must be an integer", schema)
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise _bad(field, f"must be an integer from {lo} to {hi}", schema)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _bad(field, "must be true or false", schema)
    elif kind == "array":
        if not isinstance(value, list):
            raise _bad(field, "must be an array", schema)
        if len(value) > schema.get("maxItems", len(value)):
            raise _bad(field, f"must have at most {schema['maxItems']} items", schema)
        for i, item in enumerate(value):
            check_value(f"{field}[{i}]", item, schema.get("items", {}))
    elif kind == "object":
        if not isinstance(value, Mapping):
            raise _bad(field, "must be an object", schema)
        check_properties(value, schema, prefix=f"{field}.")


def check_properties(body: Mapping[str, Any], schema: Schema, prefix: str = "") -> None:
    for name, sub in (schema.get("properties") or {}).items():
        if name in body and body[name] is not None:
            check_value(prefix + name, body[name], sub)


def check_request(
    op: Op,
    path_params: Mapping[str, str],
    query: Mapping[str, str],
    headers: Mapping[str, str],
) -> None:
    """The parameters of one request; the body is checked when the view parses it."""
    for name, raw in path_params.items():
        check_raw(name, raw, op.path_schema(name))
    for param in op.query:
        raw = query.get(param.name)
        if raw is not None:
            check_raw(param.name, raw, param.schema)
    lowered = {k.lower(): v for k, v in headers.items()}
    for param in op.headers:
        raw = lowered.get(param.name.lower())
        if raw is not None:
            check_raw(param.name, raw, param.schema)


def check_body(op: Op | None, body: Mapping[str, Any]) -> None:
    if op is not None and op.body is not None:
        check_properties(body, op.body)
