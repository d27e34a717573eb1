"""TransactWriteItems for the local store without moto's whole-table copies (local only).

moto 5.2.5 rolls a failed transaction back by deep-copying the *whole table* once per item of
the transaction before it starts, so a 25-item transaction costs ~12 s once the table holds
20,000 items, and every local flow slows down as the table grows. This adapter replaces that one
method with the same code, except that it snapshots only the items the transaction touches
(taken just before the item is written: a deep copy of an item updated in place, the object
itself for a put or a delete, which only replace or drop it) and puts those back on failure.
A condition is evaluated once, here: moto's put/update would parse and evaluate it again on the
same item under the same lock. Everything else is moto's own code path, so the semantics stay
moto's:

- all or nothing: any failed item cancels the transaction and every write is undone;
- `CancellationReasons` carry one entry per item, in order (`None` for items that passed),
  with the old item when `ReturnValuesOnConditionCheckFailure` is `ALL_OLD`;
- one operation per item, at most 100 items, two operations on one item and malformed
  operations are validation errors, as in moto.

One deliberate difference: moto raises "only one operation per item" in the middle of the
loop without rolling back the items before it; the adapter undoes them (DynamoDB validates the
whole request first, so nothing is ever written).
`tests/integration/test_local_store_transactions.py` runs the same transaction cases against
stock moto and this adapter and requires identical results.

The adapter patches moto's class, so it applies to `mock_aws()` in-process and to the local
store server alike; `install()` also installs `local.moto_queries` (Query without a pass over
the whole table), which the undo here keeps up to date, `local.moto_plumbing` and
`local.moto_item_writes` (items and updates without per-write waste) and
`local.moto_expressions` (each expression parsed once). All were checked against
one moto version only (`MOTO_VERSION`): on another they refuse to install, since a changed
moto method may no longer be safe to replace.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import moto
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

from local import moto_expressions, moto_item_writes, moto_plumbing, moto_queries

# The moto release whose `DynamoDBBackend.transact_write_items` this module mirrors.
MOTO_VERSION = "5.2.5"
MAX_ITEMS = 100  # DynamoDB's (and moto's) limit of items per transaction

STOCK = DynamoDBBackend.transact_write_items


class MotoVersionError(RuntimeError):
    """The installed moto is not the version this adapter was checked against."""


def version_matches() -> bool:
    return str(moto.__version__) == MOTO_VERSION


if not version_matches():
    warnings.warn(
        f"local.moto_transactions mirrors moto {MOTO_VERSION}, but moto {moto.__version__} is "
        "installed: the adapter will refuse to install (pin moto in requirements-dev.txt)",
        RuntimeWarning,
        stacklevel=1,
    )


@dataclass
class _Saved:
    """One touched item as it was before the transaction wrote it (None: it did not exist)."""

    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None


class _Undo:
    """The touched items and each table's stream length, to put back if the transaction fails."""

    def __init__(self) -> None:
        self.saved: list[_Saved] = []
        self.streams: dict[int, tuple[Any, int]] = {}

    def remember(
        self, backend: DynamoDBBackend, table_name: str, key: dict[str, Any], in_place: bool
    ) -> None:
        table = backend.get_table(table_name)
        hash_key, range_key = backend.get_keys_value(table, key)
        current = table.get_item(hash_key, range_key)
        # update_item mutates the stored Item in place, so keep a copy, not a reference; put and
        # delete only replace or drop the stored object, which stays as it was.
        kept = copy.deepcopy(current) if in_place else current
        self.saved.append(_Saved(table, hash_key, range_key, kept))
        shard = table.stream_shard
        if shard is not None and id(shard) not in self.streams:
            self.streams[id(shard)] = (shard, len(shard.items))

    def restore(self) -> None:
        for saved in reversed(self.saved):
            items = saved.table.items
            if saved.range_key is not None:
                if saved.item is None:
                    items[saved.hash_key].pop(saved.range_key, None)
                else:
                    items[saved.hash_key][saved.range_key] = saved.item
            elif saved.item is None:
                items.pop(saved.hash_key, None)
            else:
                items[saved.hash_key] = saved.item
            moto_queries.reindex(saved.table, saved.hash_key, saved.range_key)
        for shard, length in self.streams.values():
            del shard.items[length:]  # stream records of writes that never happened


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's transact_write_items with a per-item undo log instead of table copies."""
    if len(transact_items) > MAX_ITEMS:
        raise TooManyTransactionsException()
    undo = _Undo()
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            undo.restore()  # DynamoDB writes nothing for an invalid request
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            return_on_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if return_on_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type != "ConditionCheck":
                undo.remember(self, table_name, key, in_place=op_type == "Update")
            if op_type == "Put":
                # The condition passed just above, on this very item, under the same lock:
                # moto would only parse and evaluate it a second time.
                self.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.restore()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:  # noqa: BLE001 - moto reports any other failure as a reason
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        undo.restore()
        raise TransactionCanceledException(errors)


def install() -> None:
    """Use the adapter for every moto DynamoDB backend in this process (idempotent)."""
    if not version_matches():
        raise MotoVersionError(
            f"local.moto_transactions was checked against moto {MOTO_VERSION}, "
            f"not {moto.__version__}: re-check it against the new moto and update MOTO_VERSION"
        )
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    moto_queries.install()
    moto_plumbing.install()
    moto_item_writes.install()
    moto_expressions.install()


def uninstall() -> None:
    """Back to stock moto (the comparison tests use this)."""
    DynamoDBBackend.transact_write_items = STOCK  # type: ignore[method-assign]
    moto_queries.uninstall()
    moto_plumbing.uninstall()
    moto_item_writes.uninstall()
    moto_expressions.uninstall()


def installed() -> bool:
    return DynamoDBBackend.transact_write_items is transact_write_items  # type: ignore[comparison-overlap]


@contextmanager
def stock_moto() -> Iterator[None]:
    """Run a block on stock moto, then put back whatever was in place."""
    was = installed()
    uninstall()
    try:
        yield
    finally:
        if was:
            install()
