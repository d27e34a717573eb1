"""Hostile input found by fuzzing: each is a clear 4xx that names the field and changes nothing.

Every case here was a 500 (or a false 200) before the shared boundary parsers; the Schemathesis
run (`tests/e2e/test_openapi_fuzz.py`) keeps looking for new ones.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from chalicelib.core.clock import iso
from tests.e2e import test_faucet_drips as harness
from tests.e2e.test_faucet_drips import ALICE, BOB, TOKEN, Api

make_api = harness.make_api
api = harness.api

DAY_MS = 86_400_000
SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() says True, int() refuses it
HUGE = "9" * 5000  # past Python's 4,300-digit int-conversion limit


def b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def assert_400(resp: Any, field: str | None = None) -> dict[str, Any]:
    assert resp.status_code == 400, (resp.status_code, resp.body[:300])
    body = dict(resp.json_body)
    assert set(body) <= {"error", "message", "details"} and body["error"]
    if field is not None:
        assert field in body["message"] or (body.get("details") or {}).get("field") == field, body
    return body


def new_event(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Summit", "amount": "5", "expires_at": iso(api.clock.now_ms() + DAY_MS),
            **fields}
    resp = api.post("/v1/events", body, admin=True)
    assert resp.status_code == 201, resp.json_body
    return dict(resp.json_body)


# -- integers: ASCII digits only, bounded before conversion -------------------------------------

LIMIT_ROUTES = [
    ("/v1/bounties?limit=", False),
    ("/v1/orders?limit=", False),
    ("/v1/orderbook?pair=SKT/ETH&depth=", False),
    ("/v1/trades?pair=SKT/ETH&limit=", False),
    ("/v1/admin/payouts?limit=", True),
    ("/v1/admin/anchors?limit=", True),
    ("/v1/admin/claims?status=needs_attention&limit=", True),
]


@pytest.mark.parametrize(("prefix", "admin"), LIMIT_ROUTES)
@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, "1" + SUPERSCRIPT_TWO, HUGE, "-1", " 5"])
def test_a_non_ascii_or_huge_limit_is_a_400_naming_it(
    api: Api, prefix: str, admin: bool, value: str
) -> None:
    field = prefix.rsplit("&", 1)[-1].rsplit("?", 1)[-1].rstrip("=")
    assert_400(api.get(prefix + value, admin=admin), field)


def test_unicode_digits_in_a_bounty_submission_listing_or_event_codes_limit_are_400(
    api: Api,
) -> None:
    event = new_event(api)
    assert_400(api.get(f"/v1/events/{event['id']}/codes?limit={SUPERSCRIPT_TWO}", admin=True),
               "limit")
    assert_400(api.get(f"/v1/bounties/b_x/submissions?limit={SUPERSCRIPT_TWO}"), "limit")


def test_unicode_digits_in_a_leaves_page_are_400(api: Api) -> None:
    resp = api.get(f"/v1/anchors/1/leaves?page={SUPERSCRIPT_TWO}")
    assert_400(resp, "page")


def test_a_cursor_whose_decoded_part_holds_unicode_digits_is_400(api: Api) -> None:
    resp = api.get("/v1/orders?next=" + b64({"part": SUPERSCRIPT_TWO, "inner": ""}))
    assert resp.status_code == 400
    assert resp.json_body["error"] == "invalid_cursor"


# -- tampered cursors ---------------------------------------------------------------------------


@pytest.mark.parametrize("cursor", [
    {"pk": "x", "sk": "y"},
    {"pk": "x", "sk": "y", "wpk": "other", "wsk": "z"},
    {"pk": "\ud800", "sk": "y", "wpk": "q", "wsk": "z"},
])
def test_a_tampered_cursor_on_admin_payouts_and_event_codes_is_400(
    api: Api, cursor: dict[str, str]
) -> None:
    event = new_event(api)
    for path in ("/v1/admin/payouts?status=requested&next=",
                 f"/v1/events/{event['id']}/codes?next="):
        resp = api.get(path + b64(cursor), admin=True)
        assert resp.status_code == 400, (path, resp.body)
        assert resp.json_body["error"] == "invalid_cursor"


# -- amounts past the int-conversion limit ------------------------------------------------------


def test_an_admin_payout_or_event_amount_of_5000_digits_is_400(api: Api) -> None:
    resp = api.post("/v1/admin/payouts", {"key": "k1", "to": ALICE, "amount": HUGE}, admin=True)
    assert_400(resp, "amount")
    resp = api.post("/v1/events", {"name": "x", "amount": HUGE + ".5",
                                   "expires_at": iso(api.clock.now_ms() + DAY_MS)}, admin=True)
    assert_400(resp, "amount")


def test_an_admin_payout_to_the_token_contract_itself_is_refused(api: Api) -> None:
    resp = api.post("/v1/admin/payouts",
                    {"key": "k2", "to": TOKEN, "amount": "1", "asset": TOKEN}, admin=True)
    assert_400(resp, "to")
    listed = api.get("/v1/admin/payouts?status=requested", admin=True)
    assert listed.json_body["payouts"] == []


# -- text: no lone surrogates, no control characters in names ----------------------------------


@pytest.mark.parametrize("name", ["\ud800", "Sum\x00mit", "a\x1bb"])
def test_event_and_app_names_with_surrogates_or_control_characters_are_400(
    api: Api, name: str
) -> None:
    resp = api.post("/v1/events", {"name": name, "amount": "5",
                                   "expires_at": iso(api.clock.now_ms() + DAY_MS)}, admin=True)
    assert_400(resp, "name")
    assert_400(api.post("/v1/admin/apps", {"name": name}, admin=True), "name")


def test_a_payout_key_with_a_lone_surrogate_is_400(api: Api) -> None:
    resp = api.post("/v1/admin/payouts", {"key": "\ud800", "to": ALICE, "amount": "1"},
                    admin=True)
    assert_400(resp, "key")


def test_message_sender_and_conversation_with_lone_surrogates_are_400(api: Api) -> None:
    created = api.post("/v1/admin/apps", {"name": "chat"}, admin=True)
    key = created.json_body["api_key"]
    base = {"conversation_id": "c1", "sender": "s1", "sent_at": iso(api.clock.now_ms()),
            "content_hash": "0x" + "11" * 32}
    for field in ("conversation_id", "sender"):
        resp = api.post("/v1/messages", {**base, field: "\ud800"},
                        headers={"Authorization": f"Bearer {key}"})
        assert_400(resp, field)


def test_the_kill_switch_never_answers_200_while_the_event_stays_active(api: Api) -> None:
    event = new_event(api)
    resp = api.post(f"/v1/events/{event['id']}/disable", {"by": "\ud800"}, admin=True)
    assert resp.status_code != 200 or resp.json_body["status"] == "disabled"
    assert_400(resp, "by")
    assert api.get(f"/v1/events/{event['id']}", admin=True).json_body["status"] == "active"
    done = api.post(f"/v1/events/{event['id']}/disable", {"by": "ops"}, admin=True)
    assert done.status_code == 200 and done.json_body["status"] == "disabled"


# -- a blocked client gets the same 429 for everything ------------------------------------------


def test_a_blocked_client_learns_nothing_about_taken_revoked_or_claimed_codes(
    make_api: Any,
) -> None:
    api = make_api(CLAIM_INVALID_MAX_ATTEMPTS="2")
    event = new_event(api)
    codes = api.post(f"/v1/events/{event['id']}/codes", {"count": 2}, admin=True).json_body["codes"]
    taken, revoked = codes
    assert api.post("/v1/claims", {"code": taken, "wallet": BOB}, ip="198.51.100.9").status_code \
        == 202
    assert api.post(f"/v1/codes/{revoked}/revoke", admin=True).status_code == 200
    hostile = "203.0.113.66"
    for guess in ("NOPE-1", "NOPE-2", "NOPE-3"):
        api.post("/v1/claims", {"code": guess, "wallet": ALICE}, ip=hostile)
    answers = [
        api.post("/v1/claims", {"code": taken, "wallet": ALICE}, ip=hostile),
        api.post("/v1/claims", {"code": revoked, "wallet": ALICE}, ip=hostile),
        api.get(f"/v1/claims/{taken}", ip=hostile),
    ]
    assert [(r.status_code, r.json_body["error"]) for r in answers] == [
        (429, "too_many_invalid_codes")] * 3
    # Another client still sees the truth.
    assert api.post("/v1/claims", {"code": revoked, "wallet": ALICE}).status_code == 410
