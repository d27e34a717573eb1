"""Each DynamoDB expression parsed once, not at every layer of moto (local only).

moto 5.2.5 parses the expressions of one request several times: TransactWriteItems parses every
item's condition to check its placeholders, and parses it again to evaluate it; UpdateItem and
TransactWriteItems parse every update expression to check its placeholders, and the backend parses
it again to apply it. The second parse of each was about an eighth of a claim's time.

This module keeps the last results of both parsers:

- an update expression's syntax tree by its text: moto only reads that tree (its validator works
  on a deep copy of it);
- a condition's evaluation tree by its text, names and values (the values are bound into the
  tree), with the placeholders moto records while parsing. The tree is only evaluated, never
  changed.

A failed parse is not kept, so a bad expression raises moto's error every time. Installed and
removed with `local.moto_transactions`, under the same moto version pin;
`tests/integration/test_local_store_updates.py` compares answers with stock moto.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any

from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

STOCK_MAKE = UpdateExpressionParser.__dict__["make"]
STOCK_PARSE = ConditionExpressionParser.parse
KEEP = 1024  # expressions kept; a claim uses about ten, a whole local flow a few hundred

_conditions: OrderedDict[str, tuple[Any, list[str], list[str]]] = OrderedDict()
_lock = threading.Lock()  # in-process tests write from several threads


@functools.lru_cache(maxsize=KEEP)
def _update_tree(expression: str) -> Any:
    return STOCK_MAKE.__func__(UpdateExpressionParser, expression)


def make(cls: type, expression: Any) -> Any:
    """UpdateExpressionParser.make, kept by the expression's text."""
    if cls is not UpdateExpressionParser or type(expression) is not str:
        return STOCK_MAKE.__func__(cls, expression)
    return _update_tree(expression)


def parse(self: ConditionExpressionParser) -> Any:
    """ConditionExpressionParser.parse, kept by the expression, its names and its values."""
    if not self.condition_expression:  # no condition: nothing to parse
        return STOCK_PARSE(self)
    key = repr((self.condition_expression, self.expression_attribute_names,
                self.expression_attribute_values))
    with _lock:
        kept = _conditions.get(key)
        if kept is not None:
            _conditions.move_to_end(key)
    if kept is None:
        op = STOCK_PARSE(self)
        with _lock:
            _conditions[key] = (op, list(self.expr_attr_names_found),
                                list(self.expr_attr_values_found))
            if len(_conditions) > KEEP:
                _conditions.popitem(last=False)
        return op
    op, names, values = kept
    self.expr_attr_names_found.extend(names)
    self.expr_attr_values_found.extend(values)
    return op


def install() -> None:
    UpdateExpressionParser.make = classmethod(make)  # type: ignore[method-assign,assignment]
    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]


def uninstall() -> None:
    UpdateExpressionParser.make = STOCK_MAKE  # type: ignore[method-assign]
    ConditionExpressionParser.parse = STOCK_PARSE  # type: ignore[method-assign]
    _conditions.clear()
