"""Item writes for the local store without moto's per-write waste (local only).

After the whole-table copies and scans were gone (`local.moto_transactions`,
`local.moto_queries`), profiling a claim and a 500-code batch on the local store showed two
costs that grow with the item, not with the work:

- moto builds every stored item attribute by attribute, and re-adds the size of *all* the
  attributes so far to check the 400 KB limit after each one: quadratic in the attributes of
  the item, and the same again for each attribute an update sets (a payout item is large).
- every UpdateItem is parsed into a syntax tree, deep-copied, walked by ten validators and then
  executed, and the stored item is deep-copied for a stream the table does not have. For the
  `SET #a = :a, … REMOVE #b, … ADD #c :c, …` that `chalicelib.core.store` writes, that was
  nearly half of a claim's time in moto.

This module builds an item with one running size (the same sum, checked after each attribute,
so the same attribute raises), and applies an update of exactly that shape directly, after
checking everything moto's validators would check for it. Anything else goes to moto: another
shape of expression, a plain attribute name, a path into a map or list, a function, a set for
ADD, a key attribute, a type that does not match the table's definition, an empty key value,
legacy `Expected` or `AttributeUpdates`, a table with a stream, an item near the size limit. So
an error always comes from moto's own code. The condition is evaluated by moto's own parser.
`tests/integration/test_local_store_updates.py` runs the same updates on stock moto and here and
requires identical answers and tables. Installed and removed with `local.moto_transactions`,
under the same moto version pin.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.comparisons import create_condition_expression_parser
from moto.dynamodb.exceptions import ConditionalCheckFailed, ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict, bytesize
from moto.dynamodb.models.table import Table

STOCK_ITEM_INIT = Item.__init__
STOCK_UPDATE = DynamoDBBackend.update_item
UPDATE_SIGNATURE = inspect.signature(DynamoDBBackend.update_item)
ITEM_SIZE_LIMIT = 405_000  # moto's LimitedSizeDict limit
# Well under the limit: an update that could cross it goes to moto, which raises mid-way.
FAST_SIZE_LIMIT = 300_000

_NAME = r"#[A-Za-z0-9_]+"
_VALUE = r":[A-Za-z0-9_]+"
_SETS = rf"{_NAME}\s*=\s*{_VALUE}(?:\s*,\s*{_NAME}\s*=\s*{_VALUE})*"
_NAMES = rf"{_NAME}(?:\s*,\s*{_NAME})*"
_ADDS = rf"{_NAME}\s+{_VALUE}(?:\s*,\s*{_NAME}\s+{_VALUE})*"
SHAPE = re.compile(
    rf"(?:SET\s+(?P<set>{_SETS}))?"
    rf"(?:(?:(?<=.)\s+|^)REMOVE\s+(?P<remove>{_NAMES}))?"
    rf"(?:(?:(?<=.)\s+|^)ADD\s+(?P<add>{_ADDS}))?"
)
TOKEN = re.compile(rf"{_NAME}|{_VALUE}")


def item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None,
              attrs: dict[str, Any]) -> None:
    """moto's Item.__init__ with the size kept as a running sum (moto sums every attribute
    again for each one it adds)."""
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    size = 0
    for key, value in attrs.items():
        typed = DynamoType(value)
        size += bytesize(key) + typed.size()
        if size > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, typed)


@dataclass
class _Plan:
    sets: list[tuple[str, DynamoType]]
    removes: list[str]
    adds: list[tuple[str, DynamoType]]


def _plan(table: Table, shape: re.Match[str], names: dict[str, str] | None,
          values: dict[str, Any] | None) -> _Plan | None:
    """The actions of an update of the store's `shape` when moto's validators would accept it
    as is, else None."""
    if names is None:
        return None
    values = values or {}
    try:
        def pairs(group: str | None) -> list[tuple[str, DynamoType]]:
            tokens = TOKEN.findall(group or "")
            pairs = zip(tokens[::2], tokens[1::2], strict=True)
            return [(names[n], DynamoType(values[v])) for n, v in pairs]

        sets, adds = pairs(shape["set"]), pairs(shape["add"])
        removes = [names[n] for n in TOKEN.findall(shape["remove"] or "")]
    except KeyError:  # an undefined placeholder: moto says which
        return None
    touched = [n for n, _ in sets] + removes + [n for n, _ in adds]
    if len(set(touched)) != len(touched) or set(touched) & set(table.table_key_attrs):
        return None
    defined = {d["AttributeName"]: d["AttributeType"] for d in table.attr}
    for attr, value in sets:
        if attr in defined and defined[attr] != value.type:
            return None
        if attr in table.attribute_keys and value.type in ("S", "B") and not value.value:
            return None
    if any(value.type != "N" or attr in defined for attr, value in adds):
        return None
    return _Plan(sets, removes, adds)


def _keys(table: Table, key: dict[str, Any]) -> tuple[DynamoType, DynamoType | None] | None:
    if table.hash_key_attr not in key:
        return None
    if table.range_key_attr is None:
        return DynamoType(key[table.hash_key_attr]), None
    if table.range_key_attr not in key:
        return None
    return DynamoType(key[table.hash_key_attr]), DynamoType(key[table.range_key_attr])


def update_item(backend: DynamoDBBackend, *args: Any, **kwargs: Any) -> Item:
    """DynamoDBBackend.update_item: the direct path when it applies, else moto's."""
    if Item.__init__ is not STOCK_ITEM_INIT:  # installed
        done = _direct(backend, UPDATE_SIGNATURE.bind(backend, *args, **kwargs).arguments)
        if done is not None:
            return done
    return STOCK_UPDATE(backend, *args, **kwargs)  # type: ignore[no-any-return]


def _direct(backend: DynamoDBBackend, call: dict[str, Any]) -> Item | None:
    """The update applied directly, or None when moto must do it (an error is moto's)."""
    expression = call.get("update_expression")
    shape = SHAPE.fullmatch(expression) if expression else None
    if shape is None:  # moto parses (and refuses) it
        return None
    table = backend.get_table(call["table_name"])
    keys = _keys(table, call["key"])
    plan = _plan(table, shape, call.get("expression_attribute_names"),
                 call.get("expression_attribute_values"))
    if (plan is None or keys is None or call.get("attribute_updates") or call.get("expected")
            or table.stream_shard is not None):
        return None
    item = table.get_item(*keys)
    growth = sum(bytesize(n) + v.size() for n, v in plan.sets + plan.adds)
    if (item.size() if item else 0) + growth > FAST_SIZE_LIMIT:
        return None
    if any(item is not None and n in item.attrs and item.attrs[n].type != "N"
           for n, _ in plan.adds):
        return None  # ADD to a non-number: moto's error

    condition = create_condition_expression_parser(
        call.get("condition_expression"), call.get("expression_attribute_names"),
        call.get("expression_attribute_values"),
    ).parse()
    if not condition.expr(item):
        if call.get("return_values_on_condition_check_failure") == "ALL_OLD" and item is not None:
            raise ConditionalCheckFailed(item=item.to_json()["Attributes"])
        raise ConditionalCheckFailed

    if item is None:  # an update creates a missing item from its key, as moto does
        data = {table.hash_key_attr: {keys[0].type: keys[0].value}}
        if keys[1] is not None:
            data[table.range_key_attr] = {keys[1].type: keys[1].value}
        table.put_item(data)
        item = table.get_item(*keys)
    # The size was checked above, well under the limit for every step: moto's LimitedSizeDict
    # would sum the whole item again on each assignment to check it.
    for attr, value in plan.sets:
        dict.__setitem__(item.attrs, attr, value)
    for attr in plan.removes:
        item.attrs.pop(attr, None)
    for attr, delta in plan.adds:
        dict.__setitem__(item.attrs, attr, item.attrs.get(attr, DynamoType({"N": "0"})) + delta)
    return item


def install() -> None:
    Item.__init__ = item_init  # type: ignore[method-assign]


def uninstall() -> None:
    Item.__init__ = STOCK_ITEM_INIT  # type: ignore[method-assign]
