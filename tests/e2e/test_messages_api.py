"""Apps, messages, flush, batches and leaves through the HTTP API (chalice test client, moto).

Anchoring on chain (and therefore 200 receipts) is covered in
`tests/integration/test_anchor_onchain.py`; here the registry address is configured but no chain
is reached: flushing claims a batch and records its anchor payout, nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice.test import Client

import app
from chalicelib.anchoring import merkle
from chalicelib.anchoring.model import app_key, message_key
from chalicelib.core.clock import FixedClock
from chalicelib.core.outbox.model import payout_id, payout_key
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from tests.conftest import START_MS

ADMIN_TOKEN = "admin-token-for-message-tests"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
REGISTRY = "0x" + "12" * 20
CONTENT = "0x" + "ab" * 32


@pytest.fixture
def rt(moto_client: Any) -> Iterator[Runtime]:
    settings = load_settings({
        "TABLE_NAME": "settlekit-test",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "ANCHOR_REGISTRY_ADDRESS": REGISTRY,
        "ANCHOR_MAX_AGE_SECONDS": "60",
    })
    runtime = Runtime(settings, clock=FixedClock(START_MS), dynamodb_client=moto_client)
    set_runtime(runtime)
    yield runtime
    set_runtime(None)


@pytest.fixture
def api(rt: Runtime) -> Iterator[Client]:
    with Client(app.app) as client:
        yield client


def post(api: Client, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body) if body is not None else None
    return api.http.post(
        path, body=raw, headers={"Content-Type": "application/json", **(headers or {})}
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def message(**overrides: Any) -> dict[str, Any]:
    return {
        "conversation_id": "room-1",
        "content_hash": CONTENT,
        "sender": "alice",
        "sent_at": "2026-09-21T10:00:00Z",
        **overrides,
    }


@pytest.fixture
def new_app(api: Client) -> Callable[[str], tuple[str, dict[str, str]]]:
    def create(name: str = "chat") -> tuple[str, dict[str, str]]:
        resp = post(api, "/v1/admin/apps", {"name": name}, ADMIN)
        assert resp.status_code == 201, resp.json_body
        return resp.json_body["app_id"], bearer(resp.json_body["api_key"])

    return create


# -- apps --------------------------------------------------------------------------------------


def test_only_the_admin_creates_apps_and_the_key_is_shown_once_and_stored_hashed(
    api: Client, rt: Runtime
) -> None:
    assert post(api, "/v1/admin/apps", {"name": "chat"}).status_code == 401
    bad = post(api, "/v1/admin/apps", {"name": " "}, ADMIN)
    assert bad.status_code == 400 and bad.json_body["error"] == "invalid_name"
    resp = post(api, "/v1/admin/apps", {"name": "chat"}, ADMIN)
    assert resp.status_code == 201
    body = resp.json_body
    assert set(body) == {"app_id", "name", "status", "created_at", "revoked_at", "api_key"}
    stored = rt.store.get(**app_key(body["app_id"]))
    assert stored is not None and body["api_key"] not in json.dumps(stored, default=str)
    assert stored["key_sha256"] != body["api_key"]
    assert body["api_key"].startswith(body["app_id"] + ".")


def test_a_revoked_key_is_refused_at_once_and_revoking_again_changes_nothing(
    api: Client, new_app: Callable[..., tuple[str, dict[str, str]]]
) -> None:
    app_id, key = new_app()
    assert post(api, "/v1/messages", message(), key).status_code == 201
    assert post(api, f"/v1/admin/apps/{app_id}/revoke", None).status_code == 401
    first = post(api, f"/v1/admin/apps/{app_id}/revoke", None, ADMIN)
    assert first.status_code == 200 and first.json_body["status"] == "revoked"
    again = post(api, f"/v1/admin/apps/{app_id}/revoke", None, ADMIN)
    assert again.status_code == 200 and again.json_body == first.json_body
    refused = post(api, "/v1/messages", message(), key)
    assert refused.status_code == 401 and refused.json_body["error"] == "api_key_revoked"
    unknown = post(api, "/v1/admin/apps/app_0000000000000000/revoke", None, ADMIN)
    assert unknown.status_code == 404 and unknown.json_body["error"] == "app_not_found"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "api_key_missing"),
        (bearer("not-a-key"), "api_key_invalid"),
        (bearer("app_0000000000000000." + "0" * 64), "api_key_invalid"),
        (ADMIN, "api_key_invalid"),
    ],
)
def test_messages_need_a_valid_app_key(
    api: Client, new_app: Callable[..., tuple[str, dict[str, str]]], headers: dict[str, str],
    code: str,
) -> None:
    new_app()
    resp = post(api, "/v1/messages", message(), headers)
    assert resp.status_code == 401 and resp.json_body["error"] == code


def test_a_forged_key_for_a_real_app_is_refused(
    api: Client, new_app: Callable[..., tuple[str, dict[str, str]]]
) -> None:
    app_id, _ = new_app()
    forged = bearer(f"{app_id}." + "f" * 64)
    assert post(api, "/v1/messages", message(), forged).json_body["error"] == "api_key_invalid"


# -- recording ---------------------------------------------------------------------------------


def test_a_message_gets_the_next_seq_and_a_leaf_that_binds_its_normalised_record(
    api: Client, rt: Runtime, new_app: Callable[..., tuple[str, dict[str, str]]]
) -> None:
    _, key = new_app()
    body = message(content_hash="0x" + "AB" * 32, sent_at="2026-09-21T12:00:00.5+02:00")
    resp = post(api, "/v1/messages", body, key)
    assert resp.status_code == 201, resp.json_body
    created = resp.json_body
    assert set(created) == {"message_id", "seq", "leaf_hash"}
    assert created["seq"] == 1
    fields = {
        "message_id": created["message_id"], "conversation_id": "room-1", "sender": "alice",
        "sent_at": "2026-09-21T10:00:00.500Z", "seq": 1, "content_hash": CONTENT,
    }
    assert created["leaf_hash"] == "0x" + merkle.leaf_hash(fields).hex()
    shown = api.http.get(f"/v1/messages/{created['message_id']}", headers=key).json_body
    assert {k: shown[k] for k in fields} == fields
    assert shown["anchor"] == {"status": "pending", "batch_seq": None, "tx_hash": None}


def test_seq_is_strictly_increasing_across_apps(
    api: Client, new_app: Callable[..., tuple[str, dict[str, str]]]
) -> None:
    _, first = new_app("one")
    _, second = new_app("two")
    seqs = [post(api, "/v1/messages", message(), k).json_body["seq"] for k in [first, second] * 3]
    assert seqs == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"content_hash": "0x1234"}, "invalid_content_hash"),
        ({"content_hash": "ab" * 32}, "invalid_content_hash"),
        ({"content_hash": "0x" + "zz" * 32}, "invalid_content_hash"),
        ({"content_hash": None}, "invalid_content_hash"),
        ({"sent_at": "2026-09-21T10:00:00"}, "invalid_sent_at"),
        ({"sent_at": "yesterday"}, "invalid_sent_at"),
        ({"sent_at": 1790000000}, "invalid_sent_at"),
        ({"conversation_id": ""}, "invalid_conversation_id"),
        ({"conversation_id": "x" * 201}, "invalid_conversation_id"),
        ({"sender": 42}, "invalid_sender"),
        ({"sender": "bad\nname"}, "invalid_sender"),
        ({"extra": "field"}, "unknown_field"),
    ],
)
def test_bad_input_is_a_400_that_records_nothing(
    api: Client, new_app: Callable[..., tuple[str, dict[str, str]]], change: dict[str, Any],
    code: str,
) -> None:
    _, key = new_app()
    resp = post(api, "/v1/messages", message(**change), key)
    assert resp.status_code == 400 and resp.json_body["error"] == code
    assert post(api, "/v1/messages", message(), key).json_body["seq"] == 1


def test_malformed_json_bodies_are_400(
    api: Client, new_app: Callable[..., tuple[str, dict[str, str]]]
) -> None:
    _, key = new_app()
    for raw, code in (("{", "invalid_json"), ("[]", "body_not_object"), ("", "invalid_json")):
        resp = post(api, "/v1/messages", raw, key)
        assert resp.status_code == 400 and resp.json_body["error"] == code


def test_a_message_is_visible_only_to_its_own_app(
    api: Client, new_app: Callable[..., tuple[str, dict[str, str]]]
) -> None:
    _, mine = new_app("mine")
    _, theirs = new_app("theirs")
    mid = post(api, "/v1/messages", message(), mine).json_body["message_id"]
    assert api.http.get(f"/v1/messages/{mid}", headers=mine).status_code == 200
    for path in (f"/v1/messages/{mid}", f"/v1/messages/{mid}/proof"):
        resp = api.http.get(path, headers=theirs)
        assert resp.status_code == 404 and resp.json_body["error"] == "message_not_found"
    assert api.http.delete(f"/v1/messages/{mid}", headers=theirs).status_code == 404
    assert api.http.get("/v1/messages/msg_nope", headers=mine).status_code == 404


def test_deleting_removes_the_record_but_keeps_its_seq_and_leaf(
    api: Client, rt: Runtime, new_app: Callable[..., tuple[str, dict[str, str]]]
) -> None:
    _, key = new_app()
    created = post(api, "/v1/messages", message(), key).json_body
    mid = created["message_id"]
    gone = api.http.delete(f"/v1/messages/{mid}", headers=key)
    assert gone.status_code == 200
    view = gone.json_body
    assert view["deleted"] is True and view["deleted_at"].endswith("Z")
    assert (view["seq"], view["leaf_hash"]) == (created["seq"], created["leaf_hash"])
    assert [view[k] for k in ("conversation_id", "sender", "sent_at", "content_hash")] == [None] * 4
    stored = rt.store.get(**message_key(mid))
    assert stored is not None and "content_hash" not in stored and "sender" not in stored
    assert api.http.delete(f"/v1/messages/{mid}", headers=key).json_body == view
    proof = api.http.get(f"/v1/messages/{mid}/proof", headers=key)
    assert proof.status_code == 410 and proof.json_body["error"] == "message_deleted"


# -- flush, batches, leaves --------------------------------------------------------------------


def test_flush_with_nothing_waiting_sends_nothing(api: Client) -> None:
    resp = post(api, "/v1/admin/anchors/flush", None, ADMIN)
    assert resp.status_code == 200
    assert resp.json_body["batches"] == []
    assert api.http.get("/v1/anchors/1").status_code == 404


def test_flush_claims_every_waiting_message_into_one_batch_and_requests_its_anchor(
    api: Client, rt: Runtime, new_app: Callable[..., tuple[str, dict[str, str]]]
) -> None:
    _, key = new_app()
    created = [post(api, "/v1/messages", message(sender=f"s{i}"), key).json_body for i in range(5)]
    assert post(api, "/v1/admin/anchors/flush", None).status_code == 401
    resp = post(api, "/v1/admin/anchors/flush", None, ADMIN)
    assert resp.status_code == 202, resp.json_body
    (batch,) = resp.json_body["batches"]
    leaves = [merkle.from_hex32(c["leaf_hash"]) for c in created]
    assert (batch["batch_seq"], batch["tree_size"], batch["first_seq"], batch["last_seq"]) == (
        1, 5, 1, 5
    )
    assert batch["tree_root"] == "0x" + merkle.root(leaves).hex()
    assert batch["prev"] == "0x" + "00" * 32
    assert batch["root"] == "0x" + merkle.batch_root(
        31337, REGISTRY, 1, bytes(32), 5, merkle.root(leaves)
    ).hex()
    payout = rt.store.get(**payout_key(payout_id("anchor:1:1")))
    assert payout is not None and payout["to"].lower() == REGISTRY and payout["amount"] == "0"
    assert payout["owner_type"] == "anchor" and payout["data"].startswith("0x")

    shown = api.http.get("/v1/anchors/1").json_body
    assert shown["status"] == "pending" and shown["attempts"] == 1
    assert shown["anchor"]["tx_hash"] is None and shown["anchor"]["chain"] == "eip155:31337"
    page = api.http.get("/v1/anchors/1/leaves").json_body
    assert page["leaves"] == [c["leaf_hash"] for c in created] and page["next"] is None
    for c in created:
        view = api.http.get(f"/v1/messages/{c['message_id']}", headers=key).json_body
        assert view["anchor"]["batch_seq"] == 1 and view["anchor"]["status"] == "pending"
        proof = api.http.get(f"/v1/messages/{c['message_id']}/proof", headers=key)
        assert proof.status_code == 202 and proof.json_body["status"] == "pending"
    again = post(api, "/v1/admin/anchors/flush", None, ADMIN)
    assert again.status_code == 200 and again.json_body["batches"] == []


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/anchors/0", 400, "invalid_batch_seq"),
        ("/v1/anchors/abc", 400, "invalid_batch_seq"),
        ("/v1/anchors/99", 404, "batch_not_found"),
        ("/v1/anchors/1/leaves?page=x", 400, "invalid_page"),
        ("/v1/anchors/1/leaves?page=1", 404, "page_not_found"),
    ],
)
def test_bad_batch_and_page_parameters_are_clear_errors(
    api: Client, new_app: Callable[..., tuple[str, dict[str, str]]], path: str, status: int,
    code: str,
) -> None:
    _, key = new_app()
    post(api, "/v1/messages", message(), key)
    post(api, "/v1/admin/anchors/flush", None, ADMIN)
    resp = api.http.get(path)
    assert resp.status_code == status and resp.json_body["error"] == code


def test_flush_without_a_registry_is_refused(moto_client: Any) -> None:
    settings = load_settings({"TABLE_NAME": "settlekit-test", "ADMIN_TOKEN": ADMIN_TOKEN})
    set_runtime(Runtime(settings, dynamodb_client=moto_client))
    try:
        with Client(app.app) as client:
            resp = post(client, "/v1/admin/anchors/flush", None, ADMIN)
    finally:
        set_runtime(None)
    assert resp.status_code == 422 and resp.json_body["error"] == "anchoring_disabled"


def test_info_names_the_anchor_registry(api: Client) -> None:
    assert api.http.get("/v1/info").json_body["contracts"]["anchor_registry"] == REGISTRY


# -- listing apps and rotating a key ---------------------------------------------------------


def test_apps_are_listed_for_the_admin_without_their_keys(
    api: Client, rt: Runtime, new_app: Callable[[str], tuple[str, dict[str, str]]]
) -> None:
    first, key = new_app("chat")
    rt.clock.advance(1_000)  # type: ignore[attr-defined]
    second, _ = new_app("bot")
    listed = api.http.get("/v1/admin/apps?limit=1", headers=ADMIN)
    assert listed.status_code == 200, listed.json_body
    assert [a["app_id"] for a in listed.json_body["apps"]] == [first]
    rest = api.http.get(f"/v1/admin/apps?next={listed.json_body['next']}", headers=ADMIN)
    assert [a["app_id"] for a in rest.json_body["apps"]] == [second]
    assert key["Authorization"].split()[1] not in listed.body.decode() + rest.body.decode()
    assert api.http.get("/v1/admin/apps").status_code == 401


def test_rotating_an_app_key_keeps_its_messages_and_retires_the_old_key(
    api: Client, rt: Runtime, new_app: Callable[[str], tuple[str, dict[str, str]]]
) -> None:
    app_id, old = new_app("chat")
    created = post(api, "/v1/messages", message(), old).json_body
    rotated = post(api, f"/v1/admin/apps/{app_id}/rotate-key", None, ADMIN)
    assert rotated.status_code == 200, rotated.json_body
    new = bearer(rotated.json_body["api_key"])
    assert rotated.json_body["api_key"].startswith(app_id + ".") and new != old
    assert api.http.get(f"/v1/messages/{created['message_id']}", headers=new).status_code == 200
    refused = api.http.get(f"/v1/messages/{created['message_id']}", headers=old)
    assert (refused.status_code, refused.json_body["error"]) == (401, "api_key_invalid")
    post(api, f"/v1/admin/apps/{app_id}/revoke", None, ADMIN)
    again = post(api, f"/v1/admin/apps/{app_id}/rotate-key", None, ADMIN)
    assert (again.status_code, again.json_body["error"]) == (409, "app_revoked")
    missing = post(api, "/v1/admin/apps/app_0000000000000000/rotate-key", None, ADMIN)
    assert missing.status_code == 404
