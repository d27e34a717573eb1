"""Store clients that lose answers, for tests: a real boto3 client (moto) behind a lossy network.

  Resubmit       commits, then sends the identical request again and returns that answer, as
                 botocore's automatic retry does after a read timeout (the re-send fails on the
                 conditions its own first send satisfied).
  CommitTimeout  commits, then raises a read timeout: the caller never sees the answer.
  LostTimeout    raises a read timeout without sending: nothing commits.
  Cancelled      answers TransactionCanceledException with a given reason on one item (as
                 DynamoDB does when throttled, ...), without sending.

Each misbehaves on the writes `due` picks (every other write by default, counted per wrapper)
and delegates everything else, so it drops into Runtime(dynamodb_client=...) anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

WRITES = ("transact_write_items", "put_item", "update_item", "delete_item")


def every(n: int, first: int = 1) -> Callable[[int], bool]:
    """Writes first, first + n, first + 2n, ... (1-based) misbehave."""
    return lambda count: count >= first and (count - first) % n == 0


def only(*numbers: int) -> Callable[[int], bool]:
    return lambda count: count in numbers


class FaultyClient:
    """Delegates to `client`; the writes `due` selects go through `fault` instead."""

    methods: tuple[str, ...] = ("transact_write_items",)

    def __init__(
        self, client: Any, due: Callable[[int], bool] | None = None,
        methods: tuple[str, ...] | None = None,
    ) -> None:
        self._client = client
        self._due = due or every(2)
        self._lock = threading.Lock()
        self.writes = 0
        self.faults = 0
        self.active = True  # off: a plain client (a test's setup)
        if methods is not None:
            self.methods = methods

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name not in self.methods:
            return real

        def write(**request: Any) -> Any:
            if not self.active:
                return real(**request)
            with self._lock:
                self.writes += 1
                due = self._due(self.writes)
                self.faults += due
            if not due:
                return real(**request)
            return self.fault(real, request)

        return write

    def fault(self, send: Callable[..., Any], request: dict[str, Any]) -> Any:
        raise NotImplementedError


def _timeout() -> ReadTimeoutError:
    return ReadTimeoutError(endpoint_url="http://store.invalid/")


class Resubmit(FaultyClient):
    methods = WRITES

    def fault(self, send: Callable[..., Any], request: dict[str, Any]) -> Any:
        send(**request)
        return send(**request)


class CommitTimeout(FaultyClient):
    methods = WRITES

    def fault(self, send: Callable[..., Any], request: dict[str, Any]) -> Any:
        send(**request)
        raise _timeout()


class LostTimeout(FaultyClient):
    methods = WRITES

    def fault(self, send: Callable[..., Any], request: dict[str, Any]) -> Any:
        raise _timeout()


class Cancelled(FaultyClient):
    """A transaction cancelled with `reason` on item `index` (None elsewhere), nothing written."""

    def __init__(self, client: Any, reason: str, *, index: int = 0, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.reason = reason
        self.index = index

    def fault(self, send: Callable[..., Any], request: dict[str, Any]) -> Any:
        n = len(request["TransactItems"])
        reasons = [{"Code": "None"} for _ in range(n)]
        reasons[min(self.index, n - 1)] = {"Code": self.reason, "Message": self.reason}
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": reasons,
            },
            "TransactWriteItems",
        )


FAULTS = {"resubmit": Resubmit, "commit_timeout": CommitTimeout, "lost_timeout": LostTimeout}
