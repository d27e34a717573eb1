"""Query for the local store without a pass over the whole table (local only).

moto 5.2.5 answers every Query, on the table or on a global secondary index, by sorting and
walking *every item of the table* (`Table.all_items()`), then keeping those with the asked key:
at 20,000 items one Query takes longer than a 25-item transaction, and the local jobs query the
work index every tick behind the store's one lock. This adapter keeps moto's `Table.query`
code and only hands it a smaller list to walk:

- a table Query gets the items stored under its partition key (moto's own item map);
- a Query on a GSI with one partition-key attribute gets the items whose attribute has the
  asked value, from a map kept per table and index, built on first use and updated on every
  put, delete and update (and on a transaction's undo).

Everything moto does with that list (key and filter conditions, sort order, pages, projection,
limits) is unchanged. The list may hold items that do not match (moto drops them); it must never
miss one that does, which is why every write path moto has for items is hooked here. Anything
else (a local secondary index, a Query without an equality on the partition key) goes through
stock moto. `tests/integration/test_local_store_queries.py` compares answers with stock moto.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

from local import moto_item_writes

STOCK_QUERY = Table.query
STOCK_ALL_ITEMS = Table.all_items
STOCK_PUT = Table.put_item
STOCK_DELETE = Table.delete_item
STOCK_UPDATE = DynamoDBBackend.update_item
QUERY_SIGNATURE = inspect.signature(STOCK_QUERY)

STATE_ATTR = "_local_gsi_map"
CANDIDATES_ATTR = "_local_query_candidates"
Key = tuple[DynamoType, DynamoType | None]

# Bumped whenever the adapter is switched on or off: a map from another period may have missed
# writes made while the hooks were off, so it is rebuilt.
_generation = [0]


@dataclass
class _GsiMaps:
    """Per table: for each single-partition-key GSI, value -> item keys, and item key -> value."""

    generation: int
    attrs: dict[str, str]
    forward: dict[str, dict[DynamoType, set[Key]]] = field(default_factory=dict)
    reverse: dict[str, dict[Key, DynamoType]] = field(default_factory=dict)


def _gsi_attrs(table: Table) -> dict[str, str]:
    attrs = {}
    for gsi in table.global_indexes or []:
        hashes = [k["AttributeName"] for k in gsi.schema if k["KeyType"] == "HASH"]
        if len(hashes) == 1:
            attrs[gsi.name] = hashes[0]
    return attrs


def _stored(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    """The stored item, read without touching moto's defaultdict (no empty entries made)."""
    found = table.items.get(hash_key)
    if found is None:
        return None
    if table.range_key_attr is not None:
        return found.get(range_key) if isinstance(found, dict) else None  # type: ignore[no-any-return]
    return found  # type: ignore[no-any-return]


def _every_item(table: Table) -> list[Item]:
    items: list[Item] = []
    for stored in table.items.values():
        items.extend(stored.values() if table.range_key_attr is not None else [stored])
    return items


def _place(maps: _GsiMaps, key: Key, item: Item | None) -> None:
    for name, attr in maps.attrs.items():
        old = maps.reverse[name].pop(key, None)
        if old is not None:
            maps.forward[name].get(old, set()).discard(key)
        value = item.attrs.get(attr) if item is not None else None
        if value is None:
            continue
        try:
            maps.forward[name].setdefault(value, set()).add(key)
        except TypeError:
            continue  # an unhashable value (list, map) can never equal a key condition's value
        maps.reverse[name][key] = value


def _maps(table: Table) -> _GsiMaps:
    maps: _GsiMaps | None = table.__dict__.get(STATE_ATTR)
    if maps is None or maps.generation != _generation[0]:
        attrs = _gsi_attrs(table)
        maps = _GsiMaps(_generation[0], attrs, {n: {} for n in attrs}, {n: {} for n in attrs})
        for item in _every_item(table):
            _place(maps, (item.hash_key, item.range_key), item)
        table.__dict__[STATE_ATTR] = maps
    return maps


def reindex(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
    """Bring the GSI maps up to date for one item key (after any write to it)."""
    maps: _GsiMaps | None = table.__dict__.get(STATE_ATTR)
    if maps is not None and maps.generation == _generation[0]:
        _place(maps, (hash_key, range_key), _stored(table, hash_key, range_key))


def _candidates(table: Table, args: dict[str, Any]) -> list[Item] | None:
    index_name = args.get("index_name")
    if not index_name:
        hash_key = args.get("hash_key")
        if hash_key is None:
            return None
        stored = table.items.get(hash_key)
        if stored is None:
            return []
        return list(stored.values()) if table.range_key_attr is not None else [stored]
    maps = _maps(table)
    attr = maps.attrs.get(index_name)
    wanted = dict(args.get("hash_key_conditions") or [])
    if attr is None or attr not in wanted:
        return None
    try:
        keys = maps.forward[index_name].get(wanted[attr], set())
    except TypeError:
        return None
    found = (_stored(table, *key) for key in keys)
    return [item for item in found if item is not None]


def query(self: Table, *args: Any, **kwargs: Any) -> Any:
    bound = QUERY_SIGNATURE.bind(self, *args, **kwargs)
    candidates = _candidates(self, bound.arguments)
    if candidates is None:
        return STOCK_QUERY(self, *args, **kwargs)
    self.__dict__[CANDIDATES_ATTR] = candidates
    try:
        return STOCK_QUERY(self, *args, **kwargs)
    finally:
        self.__dict__.pop(CANDIDATES_ATTR, None)


def all_items(self: Table) -> list[Item]:
    candidates: list[Item] | None = self.__dict__.get(CANDIDATES_ATTR)
    if candidates is None:
        return STOCK_ALL_ITEMS(self)
    # The order moto's all_items() gives, so its later steps see the same sequence.
    return sorted(
        candidates, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key
    )


def put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
    item = STOCK_PUT(self, *args, **kwargs)
    reindex(self, item.hash_key, item.range_key)
    return item


def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    item = STOCK_DELETE(self, hash_key, range_key)
    reindex(self, hash_key, range_key)
    return item


def update_item(self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any,
                **kwargs: Any) -> Item:
    try:
        return moto_item_writes.update_item(self, table_name, key, *args, **kwargs)
    finally:
        # The update changes the stored item in place, so its old index value is re-read here,
        # whether the update finished or stopped half-way.
        try:
            table = self.get_table(table_name)
            hash_key, range_key = self.get_keys_value(table, key)
        except Exception:  # noqa: BLE001 - no such table or key: nothing was written
            pass
        else:
            reindex(table, hash_key, range_key)


def install() -> None:
    _generation[0] += 1
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]


def uninstall() -> None:
    _generation[0] += 1
    Table.query = STOCK_QUERY  # type: ignore[method-assign]
    Table.all_items = STOCK_ALL_ITEMS  # type: ignore[method-assign]
    Table.put_item = STOCK_PUT  # type: ignore[method-assign]
    Table.delete_item = STOCK_DELETE  # type: ignore[method-assign]
    DynamoDBBackend.update_item = STOCK_UPDATE  # type: ignore[method-assign]
