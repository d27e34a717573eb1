"""The admin's way out for parked batches, through the HTTP API (chalice test client, moto, no
chain): who may call it, what it refuses without touching anything, and finding parked batches
through the work index.

Parking a batch for real (a revert on the node) and retrying it on chain is in
`tests/integration/test_anchor_admin_onchain.py`; here a parked batch is written directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from bench.counting import count_requests
from chalicelib.anchoring.model import batch_key
from chalicelib.core.outbox.model import payout_id, payout_key
from chalicelib.core.runtime import Runtime
from tests.e2e.test_messages_api import (  # noqa: F401 - fixtures, used by name
    ADMIN,
    api,
    message,
    new_app,
    post,
    rt,
)

NewApp = Callable[..., tuple[str, dict[str, str]]]
REASON = "the registry's head is batch 5, not batch 0"


def flushed(api: Client, new_app: NewApp, n: int = 3) -> None:  # noqa: F811
    """`n` messages in batch 1, its anchor payout requested (no chain: it is never sent)."""
    _, key = new_app()
    for i in range(n):
        assert post(api, "/v1/messages", message(sender=f"s{i}"), key).status_code == 201
    assert post(api, "/v1/admin/anchors/flush", None, ADMIN).status_code == 202


def park(rt: Runtime, batch_seq: int = 1) -> dict[str, Any]:  # noqa: F811
    """What the finalizer writes when a revert cannot be re-anchored automatically."""
    return rt.store.update(batch_key(batch_seq), set={"status": "stuck", "stuck_reason": REASON})


def listing(api: Client, query: str = "") -> Any:  # noqa: F811
    return api.http.get(f"/v1/admin/anchors{query}", headers=ADMIN)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/admin/anchors/1/retry"), ("GET", "/v1/admin/anchors")],
)
@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "admin_token_missing"), ({"Authorization": "Bearer wrong"}, "admin_token_invalid")],
)
def test_retry_and_listing_need_the_admin_token(
    api: Client, rt: Runtime, new_app: NewApp, method: str, path: str,  # noqa: F811
    headers: dict[str, str], code: str,
) -> None:
    flushed(api, new_app)
    before = park(rt)
    resp = getattr(api.http, method.lower())(path, headers=headers)
    assert resp.status_code == 401 and resp.json_body["error"] == code
    assert rt.store.get(**batch_key(1)) == before


def test_parked_batches_are_found_through_the_work_index_with_one_query(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    flushed(api, new_app)
    pending = listing(api).json_body
    assert [b["batch_seq"] for b in pending["batches"]] == [1]
    assert pending["batches"][0]["status"] == "pending"
    assert pending["batches"][0]["payout_id"] == payout_id("anchor:1:1")
    assert listing(api, "?status=needs_attention").json_body["batches"] == []
    park(rt)
    with count_requests(rt.store.client) as counts:
        parked = listing(api, "?status=needs_attention")
    assert parked.status_code == 200
    (shown,) = parked.json_body["batches"]
    assert (shown["batch_seq"], shown["status"], shown["reason"]) == (1, "needs_attention", REASON)
    assert parked.json_body["next"] is None
    assert counts["Query"] == 1 and "Scan" not in counts
    assert listing(api, "?status=pending").json_body["batches"] == []
    assert api.http.get("/v1/anchors/1").json_body["status"] == "needs_attention"


def test_an_anchored_batch_leaves_the_listing(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    flushed(api, new_app)
    rt.store.update(batch_key(1), set={"status": "anchored", "wpk": None, "wsk": None})
    assert listing(api).json_body == {"batches": [], "next": None}


def test_the_listing_pages_with_a_cursor(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    flushed(api, new_app)
    flushed(api, new_app)  # batch 2 waits behind batch 1
    first = listing(api, "?limit=1").json_body
    assert [b["batch_seq"] for b in first["batches"]] == [1] and first["next"]
    second = listing(api, f"?limit=1&next={first['next']}").json_body
    assert [b["batch_seq"] for b in second["batches"]] == [2]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("?status=stuck", "invalid_status"),
        ("?limit=0", "invalid_limit"),
        ("?limit=101", "invalid_limit"),
        ("?next=%%%", "invalid_cursor"),
    ],
)
def test_bad_listing_parameters_are_400(api: Client, query: str, code: str) -> None:  # noqa: F811
    resp = listing(api, query)
    assert resp.status_code == 400 and resp.json_body["error"] == code


@pytest.mark.parametrize(
    ("seq", "status", "code"),
    [
        ("0", 400, "invalid_batch_seq"),
        ("x", 400, "invalid_batch_seq"),
        ("9", 404, "batch_not_found"),
    ],
)
def test_retrying_a_malformed_or_unknown_batch_is_a_clear_error(
    api: Client, new_app: NewApp, seq: str, status: int, code: str  # noqa: F811
) -> None:
    flushed(api, new_app)
    resp = post(api, f"/v1/admin/anchors/{seq}/retry", None, ADMIN)
    assert resp.status_code == status and resp.json_body["error"] == code


def test_a_batch_that_is_not_parked_cannot_be_retried_and_nothing_changes(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    flushed(api, new_app)
    before = rt.store.get(**batch_key(1))
    resp = post(api, "/v1/admin/anchors/1/retry", None, ADMIN)
    assert resp.status_code == 409 and resp.json_body["error"] == "batch_not_parked"
    assert resp.json_body["details"] == {"batch_seq": 1, "status": "pending"}
    assert rt.store.get(**batch_key(1)) == before
    assert rt.store.get(**payout_key(payout_id("anchor:1:2"))) is None


def test_an_anchor_whose_outcome_is_still_unknown_cannot_be_replaced(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    """Rule 4: an ambiguous transaction may still land; only the payout engine concludes it."""
    flushed(api, new_app)
    before = rt.store.update(batch_key(1), set={"attention": "the node lost the transaction"})
    resp = post(api, "/v1/admin/anchors/1/retry", None, ADMIN)
    assert resp.status_code == 409 and resp.json_body["error"] == "anchor_outcome_unknown"
    assert resp.json_body["details"]["status"] == "needs_attention"
    assert rt.store.get(**batch_key(1)) == before
    assert rt.store.get(**payout_key(payout_id("anchor:1:2"))) is None


def test_a_retry_without_a_chain_configured_is_refused_and_changes_nothing(
    api: Client, rt: Runtime, new_app: NewApp  # noqa: F811
) -> None:
    flushed(api, new_app)
    before = park(rt)
    resp = post(api, "/v1/admin/anchors/1/retry", None, ADMIN)
    assert resp.status_code == 422 and resp.json_body["error"] == "chain_not_configured"
    assert rt.store.get(**batch_key(1)) == before
    assert rt.store.get(**payout_key(payout_id("anchor:1:2"))) is None
