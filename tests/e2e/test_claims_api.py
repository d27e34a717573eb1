"""Claiming codes through the HTTP API, and what each payout outcome does to a claim."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bench.counting import count_requests
from chalicelib.core.outbox.model import payout_key, requested_queue
from chalicelib.core.wallets import FAUCET
from chalicelib.faucet.keys import claim_key, code_key
from tests.e2e import test_faucet_drips as harness
from tests.e2e.test_events_api import claim, counts, new_codes, new_event
from tests.e2e.test_faucet_drips import ALICE, BOB, CAROL, DAVE, Api, error

make_api = harness.make_api
api = harness.api
alerts = harness.alerts

YEAR_MS = 365 * 86_400_000


@pytest.fixture
def code(api: Api) -> str:
    event = new_event(api, amount="5")
    return new_codes(api, event["id"], 3)[0]


@contextmanager
def written_keys(api: Api) -> Iterator[list[str]]:
    """The pk of every item each DynamoDB write request touches."""
    keys: list[str] = []

    def hook(model: Any, params: Any = None, **_: Any) -> None:
        params = params or {}
        bodies = [params] if model.name in ("PutItem", "UpdateItem", "DeleteItem") else [
            next(iter(i.values())) for i in params.get("TransactItems", [])]
        for body in bodies:
            item = body.get("Item") or body.get("Key") or {}
            if "pk" in item:
                keys.append(item["pk"]["S"])

    events = api.rt.store.client.meta.events
    events.register("before-parameter-build.dynamodb", hook)
    try:
        yield keys
    finally:
        events.unregister("before-parameter-build.dynamodb", hook)


def claim_record(api: Api, code: str, attempt: int) -> dict[str, Any]:
    item = api.rt.store.get(**claim_key(code, attempt))
    assert item is not None
    return item


def state(api: Api, code: str) -> str:
    item = api.rt.store.get(**code_key(code))
    assert item is not None
    return str(item["state"])


# -- claiming -----------------------------------------------------------------------------------


def test_a_claim_is_202_and_one_read_plus_one_transaction_with_the_payout_intent(
    api: Api, code: str
) -> None:
    with count_requests(api.rt.store.client) as calls:
        resp = claim(api, f" {code.lower()} ", ALICE.lower())
    assert resp.status_code == 202, resp.json_body
    body = resp.json_body
    assert (body["code"], body["status"], body["amount"], body["asset"]) == (
        code, "pending", "5", "SKT")
    assert body["wallet"] == ALICE and body["payout_status"] == "requested"
    assert (calls["GetItem"], calls["TransactWriteItems"]) == (1, 1)
    assert calls["items_in_transactions"] == 7  # six of the claim's and the commit marker
    assert sum(calls.values()) - calls["items_in_transactions"] == 2
    payout = api.payout(body["payout_id"])
    assert (payout["to"], payout["amount"], payout["owner_type"]) == (ALICE, str(5 * 10**18),
                                                                       "claim")
    assert payout["asset"] == harness.TOKEN_CHECKSUMMED
    assert state(api, code) == "claimed"


def test_the_same_wallet_asking_again_gets_its_claim_and_no_second_payout(
    api: Api, code: str
) -> None:
    first = claim(api, code, ALICE).json_body
    for wallet in (ALICE, ALICE.lower(), f"  {ALICE}  "):
        again = claim(api, code, wallet)
        assert again.status_code == 200, again.json_body
        assert again.json_body["payout_id"] == first["payout_id"]
        assert again.json_body["status"] == "pending"
    listed = api.rt.store.query_work(requested_queue(FAUCET))[0]
    assert [p["id"] for p in listed] == [first["payout_id"]]


def test_another_wallet_is_refused_409_and_learns_nothing_about_the_claim(
    api: Api, code: str
) -> None:
    claim(api, code, ALICE)
    refused = claim(api, code, BOB)
    assert refused.status_code == 409 and error(refused) == "already_claimed"
    assert ALICE.lower() not in json.dumps(refused.json_body).lower()


def test_an_expired_code_is_410_from_the_moment_it_expires(api: Api) -> None:
    event = new_event(api)
    first, second = new_codes(api, event["id"], 2)
    expires = harness.parse_iso(event["expires_at"])
    api.clock.set(expires - 1)
    assert claim(api, first).status_code == 202
    api.clock.set(expires)
    late = claim(api, second, BOB)
    assert late.status_code == 410 and error(late) == "code_expired"
    assert state(api, second) == "available"


def test_an_unknown_code_is_404_invalid_code_and_a_malformed_one_is_400(api: Api) -> None:
    unknown = claim(api, "SUMMIT-AAAAAAAAAAAAAAAAAAAAAAAA")
    assert unknown.status_code == 404 and error(unknown) == "invalid_code"
    malformed = claim(api, "not a code!")
    assert malformed.status_code == 400 and error(malformed) == "invalid_code_format"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"wallet": ALICE}, "invalid_code_format"),
        ({"code": 123, "wallet": ALICE}, "invalid_code_format"),
        ({"code": "X"}, "invalid_address"),
        ({"code": "X", "wallet": ALICE[:-1] + "c"}, "invalid_checksum"),
        ({"code": "X", "wallet": DAVE}, "wallet_blocked"),
        ({"code": "X", "wallet": ALICE, "amount": "100"}, "unknown_field"),
    ],
)
def test_a_bad_claim_is_a_400_that_changes_nothing(
    make_api: Callable[..., Api], body: dict[str, Any], code: str
) -> None:
    api = make_api(WALLET_BLOCKLIST=DAVE, WALLET_ALLOWLIST=BOB)
    event = new_event(api)
    real = new_codes(api, event["id"], 1)[0]
    body = {k: (real if v == "X" else v) for k, v in body.items()}
    resp = api.post("/v1/claims", body)
    assert resp.status_code == 400 and error(resp) == code, resp.json_body
    assert state(api, real) == "available"
    # The drip allowlist does not apply to claims: ALICE is not on it and still claims.
    assert claim(api, real, ALICE).status_code == 202


def test_invalid_codes_are_limited_per_ip_and_only_that_clients_item_is_written(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(CLAIM_INVALID_MAX_ATTEMPTS="3", CLAIM_INVALID_WINDOW_SECONDS="600")
    event = new_event(api)
    real = new_codes(api, event["id"], 1)[0]
    guesser = "198.51.100.66"
    with written_keys(api) as keys:
        for i in range(3):
            resp = claim(api, f"GUESS-{i}", ip=guesser)
            assert resp.status_code == 404 and error(resp) == "invalid_code"
        blocked = claim(api, "GUESS-9", ip=guesser)
    assert blocked.status_code == 429 and error(blocked) == "too_many_invalid_codes"
    assert 0 < int(blocked.headers["Retry-After"]) <= 600
    # Every write was to the guesser's own counter: no lock on the event, codes or anything shared.
    assert keys and all(k.startswith("ratelimit#claims#ip#") for k in keys)
    assert len(set(keys)) == 1

    # A blocked client cannot tell real codes from guesses, nor claim one.
    hit = claim(api, real, ip=guesser)
    assert hit.status_code == 429 and error(hit) == "too_many_invalid_codes"
    assert api.get(f"/v1/claims/{real}", ip=guesser).status_code == 429
    assert state(api, real) == "available"
    # Other clients are not affected; the guesser is let through again in the next window.
    assert claim(api, "GUESS-X", ip="198.51.100.67").status_code == 404
    api.clock.advance(600_000)
    assert claim(api, real, BOB, ip=guesser).status_code == 202


def test_claim_status_shows_the_claim_and_its_payout_and_nothing_of_the_event(
    api: Api, code: str
) -> None:
    pid = claim(api, code, CAROL).json_body["payout_id"]
    shown = api.get(f"/v1/claims/{code.lower()}")
    assert shown.status_code == 200
    body = shown.json_body
    assert (body["code"], body["status"], body["wallet"], body["payout_id"]) == (
        code, "pending", CAROL, pid)
    assert body["payout_status"] == "requested" and body["claimable"] is False
    assert not {"event_id", "name", "expires_at", "event"} & set(body)
    api.conclude(pid, "confirmed")
    assert api.get(f"/v1/claims/{code}").json_body["status"] == "paid"


def test_claim_status_of_a_never_claimed_code_looks_exactly_like_an_unknown_one(
    api: Api, code: str
) -> None:
    unclaimed = api.get(f"/v1/claims/{code}")
    unknown = api.get("/v1/claims/NOPE-NOPE")
    assert unclaimed.status_code == unknown.status_code == 404
    assert unclaimed.json_body == unknown.json_body


def test_a_wallet_claims_at_most_max_claims_per_wallet_codes_of_one_event(api: Api) -> None:
    event = new_event(api, max_claims_per_wallet=2)
    created = new_codes(api, event["id"], 4)
    first = claim(api, created[0], BOB).json_body
    assert claim(api, created[1], BOB).status_code == 202
    refused = claim(api, created[2], BOB)
    assert refused.status_code == 409 and error(refused) == "wallet_claim_limit"
    assert refused.json_body["details"] == {"max_claims_per_wallet": 2}
    assert state(api, created[2]) == "available"
    # A payout that failed gives the wallet its allowance back.
    api.conclude(first["payout_id"], "failed")
    assert claim(api, created[2], BOB).status_code == 202
    other = new_event(api, max_claims_per_wallet=1)
    assert claim(api, new_codes(api, other["id"], 1)[0], BOB).status_code == 202


def test_event_claims_never_touch_drip_limits_or_drip_statistics(api: Api) -> None:
    event = new_event(api, max_claims_per_wallet=5)
    for code in new_codes(api, event["id"], 5):
        resp = claim(api, code, ALICE)
        assert resp.status_code == 202
        api.conclude(resp.json_body["payout_id"], "confirmed")
    figures = api.status()
    assert figures["totals"] == {"drips": 0, "amount": "0", "confirmed": 0, "failed": 0}
    assert figures["last_24h"]["drips"] == 0 and figures["last_drip_at"] is None
    # Same wallet, same IP: the full drip quota (2) is still there.
    assert api.drip(ALICE).status_code == 202
    assert api.drip(ALICE).status_code == 202
    assert api.drip(ALICE).status_code == 429


# -- payout outcomes ----------------------------------------------------------------------------


def test_a_failed_payout_makes_the_code_claimable_again_and_keeps_the_failed_attempt(
    api: Api,
) -> None:
    event = new_event(api)
    code = new_codes(api, event["id"], 1)[0]
    first = claim(api, code, ALICE).json_body
    assert api.conclude(first["payout_id"], "failed") == {"finalized": 1}
    api.conclude(first["payout_id"], "failed")  # a second call changes nothing
    shown = api.get(f"/v1/claims/{code}").json_body
    assert (shown["status"], shown["payout_status"], shown["claimable"]) == (
        "failed", "failed", True)
    assert counts(api, event["id"])["available"] == 1
    assert api.get(f"/v1/events/{event['id']}", admin=True).json_body["failed_attempts"] == 1

    retry = claim(api, code, BOB)
    assert retry.status_code == 202, retry.json_body
    assert retry.json_body["attempt"] == 2
    assert retry.json_body["payout_id"] != first["payout_id"]
    history = [claim_record(api, code, n) for n in (1, 2)]
    assert [(h["wallet"], h["status"]) for h in history] == [(ALICE, "failed"), (BOB, "pending")]
    assert api.payout(first["payout_id"])["status"] == "failed"  # never reused
    # ALICE's old claim is history: the code is now BOB's.
    assert claim(api, code, ALICE).status_code == 409


def test_an_ambiguous_payout_keeps_the_code_locked_forever_and_lists_it_for_the_admin(
    api: Api, alerts: Callable[[], list[str]]
) -> None:
    event = new_event(api)
    code = new_codes(api, event["id"], 1)[0]
    pid = claim(api, code, ALICE).json_body["payout_id"]
    api.conclude(pid, "needs_attention")
    api.conclude(pid, "needs_attention")
    assert state(api, code) == "needs_attention"
    assert alerts() == ["claim_needs_attention"]  # once, however often the finalizer runs
    api.clock.advance(YEAR_MS)  # no time-based release, however long
    api.rt.store.update(payout_key(pid), set={"updated_at": api.clock.now_ms()})
    assert state(api, code) == "needs_attention"
    assert claim(api, code, BOB).status_code == 409
    mine = claim(api, code, ALICE)
    assert mine.status_code == 200 and mine.json_body["status"] == "needs_attention"
    assert counts(api, event["id"])["needs_attention"] == 1
    listed = api.get("/v1/admin/claims?status=needs_attention", admin=True).json_body["claims"]
    assert [(c["code"], c["wallet"], c["payout_id"], c["event_id"]) for c in listed] == [
        (code, ALICE, pid, event["id"])]
    bad = api.get("/v1/admin/claims?status=pending", admin=True)
    assert bad.status_code == 400 and error(bad) == "invalid_status"


@pytest.mark.parametrize(("later", "code_state", "claimable"),
                         [("confirmed", "paid", False), ("failed", "available", True)])
def test_an_ambiguous_payout_that_later_concludes_moves_the_code_by_itself(
    api: Api, code: str, later: str, code_state: str, claimable: bool
) -> None:
    pid = claim(api, code, ALICE).json_body["payout_id"]
    api.conclude(pid, "needs_attention")
    api.conclude(pid, later)
    assert state(api, code) == code_state
    assert api.get(f"/v1/claims/{code}").json_body["claimable"] is claimable
    assert api.get("/v1/admin/claims?status=needs_attention", admin=True).json_body[
        "claims"] == []


def test_an_admin_release_is_recorded_and_a_late_landing_of_the_old_payout_alerts(
    api: Api, code: str, alerts: Callable[[], list[str]]
) -> None:
    pid = claim(api, code, ALICE).json_body["payout_id"]
    api.conclude(pid, "needs_attention")
    assert alerts() == ["claim_needs_attention"]
    path = f"/v1/admin/claims/{code}/resolve"
    for body, err in (({"outcome": "release"}, "invalid_by"),
                      ({"outcome": "refund", "by": "ops"}, "invalid_outcome"),
                      ({"outcome": "release", "by": "ops", "when": "now"}, "unknown_field")):
        resp = api.post(path, body, admin=True)
        assert resp.status_code == 400 and error(resp) == err
    assert state(api, code) == "needs_attention"

    resp = api.post(path, {"outcome": "release", "by": "alice@ops", "reason": "nonce reused"},
                    admin=True)
    assert resp.status_code == 200, resp.json_body
    resolution = resp.json_body["resolution"]
    assert (resolution["by"], resolution["outcome"], resolution["payout_status"]) == (
        "alice@ops", "release", "needs_attention")
    assert resolution["at"].endswith("Z")
    record = claim_record(api, code, 1)
    assert record["status"] == "released" and record["resolution"]["by"] == "alice@ops"
    assert state(api, code) == "available"
    # Integrators hear it: one claim.released for attempt 1, naming the claim, never the code.
    outbox = list(api.rt.store.iter_work("webhooks#fanout"))
    released = [json.loads(e["body"]) for e in outbox if e["type"] == "claim.released"]
    assert [(e["sequence"], e["data"]["status"], e["data"]["payout_id"]) for e in released] == [
        (1, "released", pid)]
    assert code not in json.dumps(released)
    again = api.post(path, {"outcome": "release", "by": "bob"}, admin=True)
    assert again.status_code == 409 and error(again) == "claim_not_in_attention"
    assert claim(api, code, BOB).json_body["attempt"] == 2

    api.conclude(pid, "confirmed")  # the old transaction landed after all
    assert claim_record(api, code, 1)["status"] == "paid_after_release"
    assert state(api, code) == "claimed"  # BOB's claim is untouched
    api.conclude(pid, "confirmed")
    assert alerts() == ["claim_needs_attention", "claim_paid_after_release"]


def test_an_admin_can_mark_an_ambiguous_claim_paid(api: Api) -> None:
    event = new_event(api)
    code = new_codes(api, event["id"], 1)[0]
    pid = claim(api, code, ALICE).json_body["payout_id"]
    api.conclude(pid, "needs_attention")
    resp = api.post(f"/v1/admin/claims/{code}/resolve", {"outcome": "paid", "by": "ops"},
                    admin=True)
    assert resp.status_code == 200 and resp.json_body["status"] == "paid"
    assert state(api, code) == "paid"
    assert counts(api, event["id"])["paid"] == 1
    assert counts(api, event["id"])["needs_attention"] == 0
    api.conclude(pid, "confirmed")  # the payout's own outcome later changes nothing
    assert claim_record(api, code, 1)["status"] == "paid"
    # Integrators hear it once: one claim.paid in the outbox, written by the resolution.
    outbox = list(api.rt.store.iter_work("webhooks#fanout"))
    paid = [e for e in outbox if e["type"] == "claim.paid"]
    assert len(paid) == 1 and code not in paid[0]["body"]


def test_resolutions_that_contradict_a_proven_payout_outcome_are_refused(
    api: Api, code: str
) -> None:
    pid = claim(api, code, ALICE).json_body["payout_id"]
    api.conclude(pid, "needs_attention")
    path = f"/v1/admin/claims/{code}/resolve"
    # The engine has proven an outcome that its finalizer has not applied yet.
    api.rt.store.update(payout_key(pid), set={"status": "confirmed"})
    refused = api.post(path, {"outcome": "release", "by": "ops"}, admin=True)
    assert refused.status_code == 409 and error(refused) == "payout_confirmed"
    api.rt.store.update(payout_key(pid), set={"status": "failed"})
    refused = api.post(path, {"outcome": "paid", "by": "ops"}, admin=True)
    assert refused.status_code == 409 and error(refused) == "payout_failed"
    assert state(api, code) == "needs_attention"


def test_resolving_a_code_that_needs_no_attention_is_refused(api: Api, code: str) -> None:
    claim(api, code, ALICE)
    resp = api.post(f"/v1/admin/claims/{code}/resolve", {"outcome": "paid", "by": "ops"},
                    admin=True)
    assert resp.status_code == 409 and error(resp) == "claim_not_in_attention"
    assert resp.json_body["details"]["state"] == "claimed"
    unknown = api.post("/v1/admin/claims/NOPE/resolve", {"outcome": "paid", "by": "ops"},
                       admin=True)
    assert unknown.status_code == 404 and error(unknown) == "invalid_code"
