"""Count the DynamoDB requests a piece of code makes, with a botocore event hook.

    with count_requests(client) as counts:
        do_something()
    counts["TransactWriteItems"]  # -> 1
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
READS = {"GetItem", "Query", "BatchGetItem", "TransactGetItems"}


@contextmanager
def count_requests(client: Any) -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()

    def hook(model: Any, params: Any = None, **_: Any) -> None:
        counts[model.name] += 1
        items = (params or {}).get("TransactItems")
        if items is not None:
            # Each item of a transaction is a write DynamoDB bills (at twice the normal rate).
            counts["items_in_transactions"] += len(items)

    with hooked(client, "before-parameter-build.dynamodb", hook):
        yield counts


@contextmanager
def hooked(client: Any, event: str, handler: Any) -> Iterator[None]:
    """`handler` on the client's botocore `event` inside the block only."""
    client.meta.events.register(event, handler)
    try:
        yield
    finally:
        client.meta.events.unregister(event, handler)


def split(counts: Counter[str]) -> tuple[int, int]:
    """(item writes, reads): a transaction counts once per item it writes."""
    writes = sum(n for op, n in counts.items() if op in WRITES and op != "TransactWriteItems")
    writes += counts["items_in_transactions"]
    reads = sum(n for op, n in counts.items() if op in READS)
    return writes, reads
