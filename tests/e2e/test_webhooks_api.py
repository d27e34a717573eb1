"""The webhook endpoints API (chalice test client, moto): who may register what, the secret
shown once, disable/enable/rotate/delete, and the deliveries log with redelivery."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import jobs
from chalicelib.core.outbox.webhook_events import payout_event_op
from chalicelib.core.runtime import Runtime
from tests.conftest import START_MS
from tests.e2e.test_messages_api import (  # noqa: F401 - fixtures, used by name
    ADMIN,
    api,
    new_app,
    post,
    rt,
)
from tests.receiver import Receiver

NewApp = Callable[..., tuple[str, dict[str, str]]]
HOOKS = "/v1/admin/webhooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def register(api: Client, url: str, events: list[str], headers: dict[str, str] = ADMIN) -> Any:  # noqa: F811
    return post(api, HOOKS, {"url": url, "events": events, "description": "ops bot"}, headers)


def test_the_admin_registers_an_endpoint_and_sees_its_secret_only_once(
    api: Client, receiver: Receiver  # noqa: F811
) -> None:
    created = register(api, receiver.url, ["claim.paid", "payout.failed"])
    assert created.status_code == 201, created.json_body
    body = created.json_body
    assert body["secret"].startswith("whsec_") and body["status"] == "active"
    assert body["events"] == ["claim.paid", "payout.failed"] and body["owner"] == "admin"
    listed = api.http.get(HOOKS, headers=ADMIN).json_body["endpoints"]
    shown = api.http.get(f"{HOOKS}/{body['id']}", headers=ADMIN)
    assert [e["id"] for e in listed] == [body["id"]] and shown.status_code == 200
    assert body["secret"] not in str(listed) + shown.body.decode()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"url": "ftp://x/h", "events": ["claim.paid"]}, "invalid_url"),
        ({"url": "http://127.0.0.1:99999/h", "events": ["claim.paid"]}, "invalid_url"),
        ({"url": "http://[::1/h", "events": ["claim.paid"]}, "invalid_url"),
        ({"url": "http://user:pw@127.0.0.1:1/h", "events": ["claim.paid"]}, "invalid_url"),
        ({"url": "http://127.0.0.1:1/h", "events": []}, "invalid_events"),
        ({"url": "http://127.0.0.1:1/h", "events": ["claim.nope"]}, "invalid_events"),
        ({"url": "http://127.0.0.1:1/h", "events": ["claim.paid"], "secret": "x"},
         "unknown_field"),
        ({"url": "http://127.0.0.1:1/h", "events": "claim.paid"}, "invalid_events"),
        ({"url": "http://127.0.0.1:1/h", "events": ["claim.paid"], "description": "\x00"},
         "invalid_description"),
    ],
)
def test_bad_registrations_are_a_400_and_write_nothing(
    api: Client, payload: dict[str, Any], code: str  # noqa: F811
) -> None:
    resp = post(api, HOOKS, payload, ADMIN)
    assert (resp.status_code, resp.json_body["error"]) == (400, code)
    assert api.http.get(HOOKS, headers=ADMIN).json_body["endpoints"] == []


def test_only_the_admin_or_an_app_key_may_manage_endpoints(
    api: Client, new_app: NewApp, receiver: Receiver  # noqa: F811
) -> None:
    assert register(api, receiver.url, ["claim.paid"], {}).status_code == 401
    wrong = register(api, receiver.url, ["claim.paid"], {"Authorization": "Bearer nope-nope-nope"})
    assert wrong.status_code == 401
    _, key = new_app()
    refused = register(api, receiver.url, ["claim.paid"], key)
    assert (refused.status_code, refused.json_body["error"]) == (400, "invalid_events")
    assert refused.json_body["details"]["allowed"] == ["message.anchored"]
    mine = register(api, receiver.url, ["message.anchored"], key).json_body
    admins = register(api, receiver.url, ["claim.paid"]).json_body
    assert [e["id"] for e in api.http.get(HOOKS, headers=key).json_body["endpoints"]] == [
        mine["id"]
    ]
    assert api.http.get(f"{HOOKS}/{admins['id']}", headers=key).status_code == 404
    assert {e["id"] for e in api.http.get(HOOKS, headers=ADMIN).json_body["endpoints"]} == {
        mine["id"], admins["id"]
    }


def test_disable_enable_rotate_and_delete(api: Client, receiver: Receiver) -> None:  # noqa: F811
    created = register(api, receiver.url, ["drip.paid"]).json_body
    path = f"{HOOKS}/{created['id']}"
    assert post(api, f"{path}/disable", None, ADMIN).json_body["status"] == "disabled"
    assert post(api, f"{path}/enable", None, ADMIN).json_body["status"] == "active"
    rotated = post(api, f"{path}/rotate-secret", None, ADMIN).json_body
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["previous_secret_valid_until"]
    assert api.http.delete(path, headers=ADMIN).json_body == {"id": created["id"], "deleted": True}
    assert api.http.get(path, headers=ADMIN).status_code == 404
    assert post(api, f"{HOOKS}/we_nope/disable", None, ADMIN).status_code == 404


def test_deliveries_are_listed_with_their_attempts_and_can_be_redelivered(
    api: Client, rt: Runtime, receiver: Receiver  # noqa: F811
) -> None:
    created = register(api, receiver.url, ["payout.confirmed"]).json_body
    receiver.secret = created["secret"]
    jobs.register_webhook_events()
    payout = {"id": "po_" + "1" * 32, "status": "confirmed", "asset": "native",
              "to": "0x" + "11" * 20, "amount": "5", "owner_type": "admin", "tx_hash": None,
              "created_at": START_MS, "updated_at": START_MS}
    rt.store.transact([payout_event_op(rt.settings, payout, START_MS)])
    jobs.webhooks(rt, START_MS + 60_000)
    path = f"{HOOKS}/{created['id']}/deliveries"
    (listed,) = api.http.get(path, headers=ADMIN).json_body["deliveries"]
    assert listed["status"] == "delivered" and listed["attempts"][0]["status_code"] == 200
    assert listed["payload"]["type"] == "payout.confirmed"
    again = post(api, f"{path}/{listed['id']}/redeliver", None, ADMIN)
    assert again.status_code == 202 and again.json_body["status"] == "pending"
    jobs.webhooks(rt, START_MS + 60_000)
    ids = [r["payload"]["id"] for r in receiver.requests]
    assert ids == [listed["event_id"]] * 2 and len(receiver.unique) == 1
    assert post(api, f"{path}/dlv_nope/redeliver", None, ADMIN).status_code == 404
