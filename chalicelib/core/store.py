"""DynamoDB access for every flow: conditional writes, transactions, reads, index queries.

Rule 2 of the design lives here: every state change is a conditional write, and a failed
condition comes back as a typed error carrying what the item held (`ALL_OLD`), so the caller can
report who won instead of overwriting. There is no Scan in this module, by design.

Errors by cause: only a failed *condition* is a lost race (`ConditionFailed`,
`TransactionFailed`). Throttling, conflicts with other transactions, validation and every other
cancellation reason wrote nothing and are a 503 (`StoreUnavailable`), after the same transaction
was tried again a few times.

A transaction is resolved, never repeated blindly (commits.py): it carries a commit marker and
a ClientRequestToken, so an ambiguous outcome (timeout, dropped connection, 5xx, or botocore
re-sending a request that had committed) is settled by one consistent read of the marker:
committed -> success; not committed -> the *same* transaction again; unknown -> 503
`WriteUnresolved` with `details.retry_safe`.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core import commits
from chalicelib.core.errors import BadRequest, Conflict, DependencyUnavailable
from chalicelib.core.parse import well_formed
from chalicelib.core.table import WORK_INDEX

Item = dict[str, Any]
Key = dict[str, str]
WRITE_METHODS = {"put_item", "update_item", "delete_item", "transact_write_items"}

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# A cancelled transaction wrote nothing (throttled, colliding with another in-flight transaction,
# ...): trying the same one again is safe. A few tries with a short backoff keep a request well
# inside API Gateway's 29 s; past them the answer is a 503 with Retry-After.
TRANSACTION_RETRIES = 3
RETRY_BACKOFF_S = 0.05
BATCH_GET_MAX = 100  # DynamoDB's limit of keys per BatchGetItem
CONDITION_FAILED = "ConditionalCheckFailed"
# Refused before anything was applied: the request may be sent again as it is.
THROTTLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}
# A 5xx, or a transaction still running under the same token: it may have been applied.
AMBIGUOUS_CODES = {"InternalServerError", "ServiceUnavailable", "TransactionInProgressException"}
UNAVAILABLE_CODES = THROTTLE_CODES | AMBIGUOUS_CODES


class ConditionFailed(Conflict):
    """A conditional write lost: `item` is what the item held when it lost (None if absent)."""

    code = "condition_failed"

    def __init__(self, message: str, item: Item | None) -> None:
        super().__init__(message)
        self.item = item


@dataclass(frozen=True)
class Failure:
    """One cancelled item of a transaction: its position, its name, why, and what it held."""

    index: int
    name: str
    reason: str
    item: Item | None


class StoreUnavailable(DependencyUnavailable):
    """The store refused or could not take a request that wrote nothing (503, retry safe)."""

    code = "store_unavailable"

    def __init__(self, message: str, *, reasons: list[str] | None = None) -> None:
        details: dict[str, Any] = {"retry_safe": True}
        if reasons:
            details["reasons"] = reasons
        super().__init__(message, retry_after=1, details=details)


class WriteUnresolved(DependencyUnavailable):
    """A write was sent, and whether it committed cannot be told now (503).

    Retrying the same request is safe: the service fixes the identity of what it writes before
    the first attempt, so a retry finds the committed write instead of making a second one.
    """

    code = "write_outcome_unknown"

    def __init__(
        self,
        message: str = "the store did not confirm the write; retry is safe",
        *,
        retry_safe: bool = True,
    ) -> None:
        super().__init__(message, retry_after=1, details={"retry_safe": retry_safe})


class TransactionFailed(Conflict):
    """A transaction was cancelled because at least one item's condition failed.

    Only condition failures are listed: any other cancellation reason is a StoreUnavailable.
    """

    code = "transaction_failed"

    def __init__(self, message: str, failures: list[Failure]) -> None:
        super().__init__(message)
        self.failures = failures

    def failed(self, name: str) -> Failure | None:
        """The failure of the item called `name`, if that item is one that failed."""
        return next((f for f in self.failures if f.name == name), None)


def key(pk: str, sk: str) -> Key:
    return {"pk": pk, "sk": sk}


def to_wire(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def from_wire(item: Mapping[str, Any] | None) -> Item | None:
    if item is None:
        return None
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    """Decimals that hold integers come back as int (we store no fractional numbers)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


@dataclass
class Expr:
    """A built expression: text plus its placeholder names and (wire-format) values."""

    text: str = ""
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


def _condition(cond: ConditionBase | None, prefix: str) -> Expr | None:
    if cond is None:
        return None
    built = ConditionExpressionBuilder().build_expression(cond)
    # Prefix placeholders so they never collide with the update expression's.
    text = built.condition_expression
    names = {}
    for ph, name in built.attribute_name_placeholders.items():
        new = f"#{prefix}{ph[1:]}"
        text = text.replace(ph, new)
        names[new] = name
    values = {}
    # Replace longer placeholders first so ':v1' does not clobber ':v10'.
    for ph in sorted(built.attribute_value_placeholders, key=len, reverse=True):
        new = f":{prefix}{ph[1:]}"
        text = text.replace(ph, new)
        values[new] = _serializer.serialize(built.attribute_value_placeholders[ph])
    return Expr(text, names, values)


def _update(
    set_: Mapping[str, Any] | None,
    remove: Iterable[str] | None,
    add: Mapping[str, int] | None,
) -> Expr:
    expr = Expr()
    clauses = []
    sets = []
    for i, (name, value) in enumerate((set_ or {}).items()):
        if value is None:
            continue
        expr.names[f"#s{i}"] = name
        expr.values[f":s{i}"] = _serializer.serialize(value)
        sets.append(f"#s{i} = :s{i}")
    if sets:
        clauses.append("SET " + ", ".join(sets))
    removes = [n for n in (remove or [])] + [n for n, v in (set_ or {}).items() if v is None]
    if removes:
        parts = []
        for i, name in enumerate(removes):
            expr.names[f"#r{i}"] = name
            parts.append(f"#r{i}")
        clauses.append("REMOVE " + ", ".join(parts))
    if add:
        parts = []
        for i, (name, delta) in enumerate(add.items()):
            expr.names[f"#a{i}"] = name
            expr.values[f":a{i}"] = _serializer.serialize(delta)
            parts.append(f"#a{i} :a{i}")
        clauses.append("ADD " + ", ".join(parts))
    expr.text = " ".join(clauses)
    return expr


def _merge(request: dict[str, Any], *exprs: Expr | None) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for e in exprs:
        if e is not None:
            names.update(e.names)
            values.update(e.values)
    if names:
        request["ExpressionAttributeNames"] = names
    if values:
        request["ExpressionAttributeValues"] = values
    return request


@dataclass
class Op:
    """One item of a TransactWriteItems call; `name` identifies it in a TransactionFailed."""

    kind: str
    body: dict[str, Any]
    name: str


def put_op(
    item: Item, *, if_absent: bool = False, condition: ConditionBase | None = None, name: str = ""
) -> Op:
    cond = _condition(condition, "c")
    text = cond.text if cond else ""
    if if_absent:
        text = f"attribute_not_exists(pk) AND ({text})" if text else "attribute_not_exists(pk)"
    body: dict[str, Any] = {"Item": to_wire(item)}
    if text:
        body["ConditionExpression"] = text
    _merge(body, cond)
    return Op("Put", body, name or str(item.get("pk")))


def update_op(
    k: Key,
    *,
    set: Mapping[str, Any] | None = None,  # noqa: A002 - mirrors the DynamoDB clause
    remove: Iterable[str] | None = None,
    add: Mapping[str, int] | None = None,
    condition: ConditionBase | None = None,
    name: str = "",
) -> Op:
    upd = _update(set, remove, add)
    cond = _condition(condition, "c")
    body: dict[str, Any] = {"Key": to_wire(k), "UpdateExpression": upd.text}
    if cond:
        body["ConditionExpression"] = cond.text
    _merge(body, upd, cond)
    return Op("Update", body, name or k["pk"])


def delete_op(k: Key, *, condition: ConditionBase | None = None, name: str = "") -> Op:
    cond = _condition(condition, "c")
    body: dict[str, Any] = {"Key": to_wire(k)}
    if cond:
        body["ConditionExpression"] = cond.text
    _merge(body, cond)
    return Op("Delete", body, name or k["pk"])


def check_op(k: Key, condition: ConditionBase, *, name: str = "") -> Op:
    cond = _condition(condition, "c")
    assert cond is not None
    body = {"Key": to_wire(k), "ConditionExpression": cond.text}
    _merge(body, cond)
    return Op("ConditionCheck", body, name or k["pk"])


def encode_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    """Opaque pagination cursor from a LastEvaluatedKey (already plain values)."""
    if not last_key:
        return None
    raw = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, allowed: set[str]) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, TypeError):
        raise BadRequest("the pagination cursor is not valid", code="invalid_cursor") from None
    if (
        not isinstance(value, dict)
        or set(value) - allowed
        or not all(isinstance(v, str) and well_formed(v) for v in value.values())
    ):
        raise BadRequest("the pagination cursor is not valid", code="invalid_cursor")
    return value


def _start_key(cursor: str | None, partition: tuple[str, str]) -> dict[str, Any] | None:
    """A cursor of exactly this query: the whole key of a page's last item, in this partition.

    DynamoDB refuses (ValidationException) a start key of another partition or with keys
    missing, so a tampered cursor is found out here, as the client's 400.
    """
    name, value = partition
    keys = {"pk", "sk"} | ({"wpk", "wsk"} if name == "wpk" else set())
    start = decode_cursor(cursor, keys)
    if start is not None and (set(start) != keys or start[name] != value):
        raise BadRequest("the pagination cursor is not valid", code="invalid_cursor")
    return start


class DynamoStore:
    """The service's only door to DynamoDB (a boto3 low-level client on one table)."""

    def __init__(self, client: Any, table_name: str, *, write_client: Any = None) -> None:
        self.client = client
        # Writes go through a client without botocore retries: a write re-sent blindly after a
        # timeout may apply twice (or fail on its own committed condition), see `transact`.
        self.write_client = write_client or client
        self.table = table_name

    # -- reads -------------------------------------------------------------------------------

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        resp = self._call(
            "get_item", TableName=self.table, Key=to_wire(key(pk, sk)), ConsistentRead=consistent
        )
        return from_wire(resp.get("Item"))

    def get_many(self, keys: list[Key], *, consistent: bool = True) -> dict[tuple[str, str], Item]:
        """The items at `keys` that exist, by (pk, sk): one BatchGetItem per 100 keys.

        Keys DynamoDB leaves unprocessed (throttling) are asked again with the same backoff as
        a throttled write; still unprocessed after that, the store is reported busy.
        """
        found: dict[tuple[str, str], Item] = {}
        unique = list({(k["pk"], k["sk"]): k for k in keys}.values())
        for first in range(0, len(unique), BATCH_GET_MAX):
            asked = {self.table: {"Keys": [to_wire(k) for k in unique[first:first + BATCH_GET_MAX]],
                                  "ConsistentRead": consistent}}
            for _ in _attempts(TRANSACTION_RETRIES + 1):
                resp = self._call("batch_get_item", RequestItems=asked)
                for raw in resp.get("Responses", {}).get(self.table, []):
                    item = from_wire(raw) or {}
                    found[(item["pk"], item["sk"])] = item
                asked = resp.get("UnprocessedKeys") or {}
                if not asked:
                    break
            else:
                raise StoreUnavailable("the store is busy, try again",
                                       reasons=["UnprocessedKeys"])
        return found

    def query(
        self,
        pk: str,
        *,
        sk_prefix: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        forward: bool = True,
        consistent: bool = False,
    ) -> tuple[list[Item], str | None]:
        """One page of the items under a partition key of the base table."""
        names = {"#pk": "pk"}
        values: dict[str, Any] = {":pk": {"S": pk}}
        text = "#pk = :pk"
        if sk_prefix is not None:
            names["#sk"] = "sk"
            values[":sk"] = {"S": sk_prefix}
            text += " AND begins_with(#sk, :sk)"
        request = {"ConsistentRead": consistent}
        partition = ("pk", pk)
        return self._page(request, text, names, values, limit, forward, cursor, partition)

    def query_work(
        self,
        wpk: str,
        *,
        limit: int = 100,
        cursor: str | None = None,
        until: str | None = None,
        after: str | None = None,
        forward: bool = True,
    ) -> tuple[list[Item], str | None]:
        """One page of the work index under `wpk`, optionally only sort keys <= `until` or only
        sort keys > `after` (not both).

        The index is eventually consistent in AWS: callers re-read the base item (consistent) or
        write conditionally before acting on what they found here.
        """
        if until is not None and after is not None:
            raise ValueError("query_work takes until or after, not both")
        names = {"#w": "wpk"}
        values: dict[str, Any] = {":w": {"S": wpk}}
        text = "#w = :w"
        bound = ("<=", until) if until is not None else (">", after)
        if bound[1] is not None:
            names["#t"] = "wsk"
            values[":t"] = {"S": bound[1]}
            text += f" AND #t {bound[0]} :t"
        request = {"IndexName": WORK_INDEX}
        return self._page(request, text, names, values, limit, forward, cursor, ("wpk", wpk))

    def _page(
        self,
        request: dict[str, Any],
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
        limit: int,
        forward: bool,
        cursor: str | None,
        partition: tuple[str, str],
    ) -> tuple[list[Item], str | None]:
        request = {
            **request,
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
            "ScanIndexForward": forward,
        }
        start = _start_key(cursor, partition)
        if start:
            request["ExclusiveStartKey"] = to_wire(start)
        resp = self._call("query", **request)
        items = [from_wire(i) or {} for i in resp.get("Items", [])]
        return items, encode_cursor(from_wire(resp.get("LastEvaluatedKey")))

    def iter_work(self, wpk: str, *, until: str | None = None, after: str | None = None,
                  page: int = 100) -> Iterator[Item]:
        """Every item under `wpk` (page by page), for jobs that drain a queue."""
        cursor = None
        while True:
            items, cursor = self.query_work(wpk, limit=page, cursor=cursor, until=until,
                                            after=after)
            yield from items
            if cursor is None:
                return

    # -- writes ------------------------------------------------------------------------------

    def put_new(self, item: Item) -> None:
        """Create `item`; ConditionFailed (with the existing item) if its key is taken.

        Finding exactly this item already there is success: an earlier send of this very put
        committed (its answer was lost), or an identical item was written, which is the same.
        """
        mine = from_wire(to_wire(item))
        try:
            self.transact_or_single(put_op(item, if_absent=True))
        except ConditionFailed as exc:
            if exc.item != mine:
                raise
        except WriteUnresolved:
            current = self.get(item["pk"], item["sk"])
            if current is None:
                self.transact_or_single(put_op(item, if_absent=True))
            elif current != mine:
                raise ConditionFailed("the item is not in the expected state", current) from None

    def put(self, item: Item, *, condition: ConditionBase | None = None) -> None:
        self.transact_or_single(put_op(item, condition=condition))

    def update(
        self,
        k: Key,
        *,
        set: Mapping[str, Any] | None = None,  # noqa: A002
        remove: Iterable[str] | None = None,
        add: Mapping[str, int] | None = None,
        condition: ConditionBase | None = None,
    ) -> Item:
        """Conditional update; returns the item as it is after the write."""
        op = update_op(k, set=set, remove=remove, add=add, condition=condition)
        request = {"TableName": self.table, **op.body, "ReturnValues": "ALL_NEW"}
        if condition is not None:
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        resp = self._call("update_item", **request)
        return from_wire(resp.get("Attributes")) or {}

    def delete(self, k: Key, *, condition: ConditionBase | None = None) -> None:
        self.transact_or_single(delete_op(k, condition=condition))

    def transact_or_single(self, op: Op) -> None:
        """Run one op as a single-item call (cheaper than a one-item transaction)."""
        request = {"TableName": self.table, **op.body}
        if "ConditionExpression" in op.body:
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        method = {"Put": "put_item", "Update": "update_item", "Delete": "delete_item"}[op.kind]
        self._call(method, **request)

    def transact(self, ops: list[Op], *, token: str | None = None) -> None:
        """All-or-nothing write of up to 99 items (+ its commit marker), exactly once.

        TransactionFailed names the items whose condition failed; StoreUnavailable when the
        store wrote nothing for another reason; WriteUnresolved when it cannot tell.
        """
        token = token or commits.new_token()
        marker = put_op(commits.marker_item(token), if_absent=True, name=commits.OP_NAME)
        items = []
        for op in [*ops, marker]:
            body = {"TableName": self.table, **op.body}
            if "ConditionExpression" in op.body:
                body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            items.append({op.kind: body})
        names = [op.name for op in ops]
        unsure = False  # whether some attempt may have committed without our knowing
        for _ in _attempts(TRANSACTION_RETRIES + 1):
            try:
                self._write("transact_write_items", TransactItems=items, ClientRequestToken=token)
                return
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code == "TransactionCanceledException":
                    reasons = exc.response.get("CancellationReasons") or []
                    if _reason(reasons, len(ops)) == CONDITION_FAILED:
                        return  # the marker exists: an earlier send of this transaction committed
                    failures = [
                        Failure(i, names[i], r.get("Code", ""), from_wire(r.get("Item")))
                        for i, r in enumerate(reasons[: len(ops)])
                        if r.get("Code") not in (None, "None")
                    ]
                    lost = [f for f in failures if f.reason == CONDITION_FAILED]
                    if lost:
                        text = ", ".join(f.name for f in lost)
                        raise TransactionFailed(f"transaction cancelled: {text}", lost) from exc
                    causes = sorted({f.reason for f in failures}) or ["unknown"]
                    last: Exception = StoreUnavailable(
                        "the store is busy, try again", reasons=causes
                    )
                    continue
                if code in THROTTLE_CODES:
                    last = StoreUnavailable("the store is busy, try again", reasons=[code])
                    continue
                if code not in AMBIGUOUS_CODES:
                    raise exc
            except BotoCoreError:
                pass  # sent, perhaps applied: resolved below like a 5xx
            committed = self.committed(token)
            if committed:
                return
            if committed is None:
                unsure = True
            last = StoreUnavailable("the store is unavailable, try again")
        raise WriteUnresolved() if unsure else last

    def committed(self, token: str) -> bool | None:
        """Whether the transaction sent with `token` committed; None when the store can't say."""
        try:
            item = self.get(**commits.marker_key(token), consistent=True)
        except (DependencyUnavailable, ClientError):
            return None
        return item is not None

    # -- plumbing ----------------------------------------------------------------------------

    def _call(self, method: str, **request: Any) -> dict[str, Any]:
        try:
            return self._raw(method, **request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                item = from_wire(exc.response.get("Item"))
                raise ConditionFailed("the item is not in the expected state", item) from exc
            raise self._translate(exc) from exc

    def _raw(self, method: str, **request: Any) -> dict[str, Any]:
        client = self.write_client if method in WRITE_METHODS else self.client
        attempts = TRANSACTION_RETRIES + 1 if method in WRITE_METHODS else 1
        for attempt in _attempts(attempts):
            try:
                result: dict[str, Any] = getattr(client, method)(**request)
                return result
            except ClientError as exc:
                # The write client has no retries of its own (see runtime.py): a throttled
                # single-item write applied nothing and is sent again here.
                if exc.response["Error"]["Code"] in THROTTLE_CODES and attempt < attempts - 1:
                    continue
                raise
            except BotoCoreError as exc:
                if method in WRITE_METHODS:
                    raise WriteUnresolved("the store did not confirm the write") from exc
                raise DependencyUnavailable(
                    "the store cannot be reached", details={"retry_safe": True}
                ) from exc
        raise AssertionError("unreachable")

    def _write(self, method: str, **request: Any) -> dict[str, Any]:
        """One send of a transaction: errors are left to `transact` to classify."""
        result: dict[str, Any] = getattr(self.write_client, method)(**request)
        return result

    @staticmethod
    def _translate(exc: ClientError) -> Exception:
        code = exc.response["Error"]["Code"]
        if code in THROTTLE_CODES:
            return StoreUnavailable("the store is busy, try again", reasons=[code])
        if code in AMBIGUOUS_CODES:
            return DependencyUnavailable("the store is unavailable, try again")
        return exc


def _attempts(count: int) -> Iterator[int]:
    """Attempt numbers 0..count-1 of a request sent again after a throttle, sleeping the
    backoff before each one after the first."""
    for attempt in range(count):
        if attempt:
            time.sleep(RETRY_BACKOFF_S * attempt)
        yield attempt


def _reason(reasons: list[dict[str, Any]], index: int) -> str | None:
    return reasons[index].get("Code") if index < len(reasons) else None
