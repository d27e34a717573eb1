"""moto's request plumbing without its per-request waste (local only).

Profiling the local store (`docs/local-stack.md`, "Where a local request's time goes") showed
that most of a small request's time is spent around the DynamoDB backend, not in it:

- every request lists moto's methods of its response class with `inspect.getmembers`
  (`method_names_from_class`), although a class's methods do not change between requests;
- the store server looks up the service of every request by listing and `stat`-ing every
  directory of the moto package, twice (`backends.list_of_moto_modules`);
- every DynamoDB answer goes through moto's model-driven serializer, which looks each member of
  every attribute value up under half a dozen spellings: a GetItem of a payout item (lists of
  attempts, the signed bytes) cost more to serialize than to find;
- every DynamoDB request goes through moto's model-driven parser the same way, walking the ten
  members of the model's AttributeValue for each value of each item.

This module caches the first two (the answers are the same on every call) and serializes and
parses DynamoDB attribute values (`S`, `N`, `SS`, `NS`, `BOOL`, `NULL`, `M`, `L`) directly, which
is what moto's serializer and parser produce for them (the JSON value itself); anything else
(binary values, odd shapes) still goes through moto's.
`tests/integration/test_local_store_plumbing.py` compares the serialized answers and the parsed
requests with stock moto's. Installed and removed with `local.moto_transactions`, under the same
moto version pin.
"""

from __future__ import annotations

import functools
from typing import Any

from moto import backends
from moto.core import parse as moto_parse
from moto.core import responses as moto_responses
from moto.core import serialize as moto_serialize
from moto.core import utils as moto_utils

STOCK_METHOD_NAMES = moto_utils.method_names_from_class
STOCK_MODULES = backends.list_of_moto_modules
STOCK_DYNAMODB_SERIALIZERS = moto_serialize.SERVICE_SPECIFIC_SERIALIZERS.get("dynamodb")
PROTOCOL = "json"  # DynamoDB's protocol in botocore's model
STOCK_JSON_PARSER = moto_parse.PROTOCOL_PARSERS[PROTOCOL]

_MISSING = object()
_TEXT = ("S", "N")
_TEXT_SETS = ("SS", "NS")
_FLAGS = ("BOOL", "NULL")


def plain_value(value: Any) -> Any:
    """A DynamoDB attribute value as moto's serializer writes it, or _MISSING when only moto's
    serializer knows (binary, several types at once, non-string text, a None somewhere)."""
    if type(value) is not dict or len(value) != 1:
        return _MISSING
    ((kind, inner),) = value.items()
    if kind in _TEXT:
        return {kind: inner} if type(inner) is str else _MISSING
    if kind in _TEXT_SETS:
        if type(inner) is list and all(type(x) is str for x in inner):
            return {kind: list(inner)}
        return _MISSING
    if kind in _FLAGS:
        return {kind: inner} if type(inner) is bool else _MISSING
    if kind == "M":
        if type(inner) is not dict:
            return _MISSING
        members = {}
        for name, member in inner.items():
            done = plain_value(member)
            if done is _MISSING:
                return _MISSING
            members[name] = done
        return {"M": members}
    if kind == "L":
        if type(inner) is not list:
            return _MISSING
        elements = []
        for element in inner:
            done = plain_value(element)
            if done is _MISSING:
                return _MISSING
            elements.append(done)
        return {"L": elements}
    return _MISSING


class DynamoDBSerializer(moto_serialize.SERIALIZERS[PROTOCOL]):  # type: ignore[misc,valid-type]
    """moto's JSON serializer, with attribute values written directly."""

    def _serialize(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue":
            done = plain_value(value)
            if done is not _MISSING:
                serialized[self.get_serialized_name(shape, key)] = done
                return
        super()._serialize(serialized, value, shape, key)


class DynamoDBParser(STOCK_JSON_PARSER):  # type: ignore[misc,valid-type]
    """moto's JSON request parser, with DynamoDB attribute values taken as they came."""

    def _parse_structure(self, shape: Any, value: Any) -> Any:
        if (shape.name == "AttributeValue" and self.MAP_TYPE is dict
                and self.operation_model.service_model.service_name == "dynamodb"):
            done = plain_value(value)
            if done is not _MISSING:
                return done
        return super()._parse_structure(shape, value)


@functools.cache
def method_names_from_class(clazz: object) -> list[str]:
    # The local patches (moto_kms) replace methods that exist, so the names never change.
    return STOCK_METHOD_NAMES(clazz)  # type: ignore[no-any-return]


@functools.cache
def _modules() -> tuple[str, ...]:
    return tuple(STOCK_MODULES())


def list_of_moto_modules() -> tuple[str, ...]:
    return _modules()


def install() -> None:
    moto_responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]
    backends.list_of_moto_modules = list_of_moto_modules  # type: ignore[assignment]
    moto_serialize.SERVICE_SPECIFIC_SERIALIZERS["dynamodb"] = {PROTOCOL: DynamoDBSerializer}
    moto_parse.PROTOCOL_PARSERS[PROTOCOL] = DynamoDBParser


def uninstall() -> None:
    moto_parse.PROTOCOL_PARSERS[PROTOCOL] = STOCK_JSON_PARSER
    moto_responses.method_names_from_class = STOCK_METHOD_NAMES  # type: ignore[assignment]
    backends.list_of_moto_modules = STOCK_MODULES  # type: ignore[assignment]
    if STOCK_DYNAMODB_SERIALIZERS is None:
        moto_serialize.SERVICE_SPECIFIC_SERIALIZERS.pop("dynamodb", None)
    else:
        moto_serialize.SERVICE_SPECIFIC_SERIALIZERS["dynamodb"] = STOCK_DYNAMODB_SERIALIZERS
