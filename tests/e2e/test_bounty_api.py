"""Bounties through the HTTP API (chalice test client, moto store, fixed clock, no chain).

`BountyApi` (a signing client for the bounty routes) is shared with the integration tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

import app
from chalicelib.bounties.status import STATUSES
from chalicelib.core.clock import FixedClock, iso
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from local.processes import ROOT
from tests.unit.test_signing import ADDRESSES, KEYS, signed_body

HOUR = 3_600_000
DAY = 24 * HOUR
TOKEN = "0x" + "ab" * 20
POSTER, ALICE, BOB, CAROL, DAVE = range(5)


class BountyApi:
    """Signs and sends bounty requests as the node's well-known accounts."""

    def __init__(self, client: Client, rt: Runtime, clock: FixedClock) -> None:
        self.client = client
        self.rt = rt
        self.clock = clock
        self.signed = 0

    @property
    def now(self) -> int:
        return self.rt.clock.now_ms()

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if method == "GET":
            resp = self.client.http.get(path)
        else:
            resp = self.client.http.post(
                path, body=json.dumps(body), headers={"Content-Type": "application/json"}
            )
        assert "Traceback" not in resp.body.decode()
        return resp.status_code, json.loads(resp.body or b"null")

    def sign(self, action: str, body: dict[str, Any], who: int, bounty_id: str | None = None,
             **kw: Any) -> dict[str, Any]:
        # The clock stands still in tests: vary the deadline so that two requests with the same
        # content are two signatures (as they would be, a second apart, in real life).
        self.signed += 1
        kw.setdefault("deadline", self.now // 1000 + 600 - self.signed % 500)
        return signed_body(self.rt.settings, action, body, KEYS[who], now_ms=self.now,
                           path_value=bounty_id, **kw)

    def create_body(self, who: int = POSTER, **fields: Any) -> dict[str, Any]:
        body = {
            "poster": ADDRESSES[who],
            "title": "Translate the README",
            "description": "Into French, German and Spanish",
            "reward": "3",
            "asset": "native",
            "max_winners": 3,
            "expires_at": iso(self.now + 2 * DAY),
            "tags": ["docs", "i18n"],
        }
        body.update(fields)
        return {k: v for k, v in body.items() if v is not None}

    def create(self, who: int = POSTER, **fields: Any) -> tuple[int, Any]:
        body = self.sign("create_bounty", self.create_body(who, **fields), who)
        return self.call("POST", "/v1/bounties", body)

    def new_bounty(self, who: int = POSTER, **fields: Any) -> dict[str, Any]:
        status, body = self.create(who, **fields)
        assert status == 201, body
        return dict(body["bounty"])

    def submit(self, bid: str, who: int, message: str = "here it is", **extra: Any
               ) -> tuple[int, Any]:
        fields = {"submitter": ADDRESSES[who], "message": message, **extra}
        return self.call("POST", f"/v1/bounties/{bid}/submissions",
                         self.sign("submit_solution", fields, who, bid))

    def new_submission(self, bid: str, who: int) -> str:
        status, body = self.submit(bid, who)
        assert status == 201, body
        return str(body["submission"]["id"])

    def accept(self, bid: str, sid: str, who: int = POSTER, **kw: Any) -> tuple[int, Any]:
        body = self.sign("accept_submission", {"poster": ADDRESSES[who], "submission_id": sid},
                         who, bid, **kw)
        return self.call("POST", f"/v1/bounties/{bid}/accept", body)

    def pay(self, bid: str, sid: str, tx_hash: str, who: int = POSTER) -> tuple[int, Any]:
        body = self.sign(
            "record_payment",
            {"poster": ADDRESSES[who], "submission_id": sid, "tx_hash": tx_hash}, who, bid,
        )
        return self.call("POST", f"/v1/bounties/{bid}/payments", body)

    def cancel(self, bid: str, who: int = POSTER) -> tuple[int, Any]:
        body = self.sign("cancel_bounty", {"poster": ADDRESSES[who]}, who, bid)
        return self.call("POST", f"/v1/bounties/{bid}/cancel", body)

    def bounty(self, bid: str) -> dict[str, Any]:
        status, body = self.call("GET", f"/v1/bounties/{bid}")
        assert status == 200, body
        return dict(body["bounty"])

    def listing(self, query: str = "") -> tuple[int, Any]:
        return self.call("GET", f"/v1/bounties{'?' + query if query else ''}")

    def all_pages(self, query: str = "", limit: int = 100) -> list[str]:
        ids: list[str] = []
        cursor = None
        for _ in range(100):
            q = "&".join(p for p in (query, f"limit={limit}", f"next={cursor}" if cursor else "")
                         if p)
            status, body = self.listing(q)
            assert status == 200, body
            ids += [b["id"] for b in body["bounties"]]
            cursor = body["next"]
            if cursor is None:
                return ids
        raise AssertionError("paging did not end")


@pytest.fixture
def api(moto_client: Any, clock: FixedClock) -> Iterator[BountyApi]:
    settings = load_settings({"TABLE_NAME": "settlekit-test", "TOKEN_ADDRESS": TOKEN})
    rt = Runtime(settings, clock=clock, dynamodb_client=moto_client)
    set_runtime(rt)
    with Client(app.app) as client:
        yield BountyApi(client, rt, clock)
    set_runtime(None)


def everything(api: BountyApi) -> list[str]:
    return api.all_pages()


# -- create ------------------------------------------------------------------------------------


def test_a_poster_creates_a_multi_winner_bounty_and_reads_it_back(api: BountyApi) -> None:
    status, body = api.create(reward="1.5", max_winners=3, tags=["Docs", "i18n"])
    assert status == 201
    bounty = body["bounty"]
    assert bounty["id"].startswith("bty_")
    assert bounty["status"] == "open"
    assert bounty["poster"] == ADDRESSES[POSTER]
    assert (bounty["reward"], bounty["reward_per_winner"], bounty["max_winners"]) == (
        "1.5", "0.5", 3
    )
    assert bounty["tags"] == ["docs", "i18n"]
    assert bounty["expires_at"] == iso(api.now + 2 * DAY)
    assert bounty["accept_until"] == iso(api.now + 16 * DAY)
    assert bounty["pay_until"] is None
    assert (bounty["winners"], bounty["payments"], bounty["submission_count"]) == ([], [], 0)
    assert api.bounty(bounty["id"]) == bounty


def test_max_winners_defaults_to_one_when_left_out_of_the_signed_body(api: BountyApi) -> None:
    bounty = api.new_bounty(max_winners=None)
    assert bounty["max_winners"] == 1 and bounty["reward_per_winner"] == "3"


def test_a_token_bounty_names_the_token_by_address(api: BountyApi) -> None:
    bounty = api.new_bounty(asset="SKT", reward="10", max_winners=2)
    assert bounty["asset"].lower() == TOKEN and bounty["reward_per_winner"] == "5"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"title": "   "}, "invalid_title"),
        ({"title": "x" * 121}, "invalid_title"),
        ({"description": ""}, "invalid_description"),
        ({"description": "x" * 4001}, "invalid_description"),
        ({"reward": "0"}, "invalid_amount"),
        ({"reward": "1e3"}, "invalid_amount"),
        ({"reward": "-1"}, "invalid_amount"),
        ({"asset": "DOGE"}, "invalid_asset"),
        ({"max_winners": 0}, "invalid_max_winners"),
        ({"max_winners": 1001}, "invalid_max_winners"),
        ({"expires_at": "tomorrow"}, "invalid_expires_at"),
        ({"expires_at": "2026-10-01T00:00:00"}, "invalid_expires_at"),
        ({"tags": ["a", "b", "c", "d", "e", "f"]}, "invalid_tags"),
        ({"tags": ["x" * 25]}, "invalid_tags"),
        ({"tags": ["docs", "DOCS"]}, "invalid_tags"),
        ({"tags": ["no spaces"]}, "invalid_tags"),
    ],
)
def test_bad_create_input_is_a_400_and_creates_nothing(
    api: BountyApi, fields: dict[str, Any], code: str
) -> None:
    status, body = api.create(**fields)
    assert (status, body["error"]) == (400, code)
    assert everything(api) == []


def test_expiry_must_be_one_hour_to_365_days_ahead_inclusive(api: BountyApi) -> None:
    for delta, expected in [(HOUR - 1, 400), (HOUR, 201), (365 * DAY, 201),
                            (365 * DAY + 1, 400)]:
        status, body = api.create(expires_at=iso(api.now + delta))
        assert status == expected, (delta, body)


def test_a_reward_that_does_not_split_evenly_names_the_nearest_valid_rewards(
    api: BountyApi,
) -> None:
    status, body = api.create(reward="0.00000000000000001", max_winners=3)  # 10 wei
    assert (status, body["error"]) == (400, "reward_not_divisible")
    assert body["details"]["nearest"] == ["0.000000000000000009", "0.000000000000000012"]
    status, body = api.create(reward="0.000000000000000002", max_winners=3)  # 2 wei
    assert body["details"]["nearest"] == ["0.000000000000000003"]


def test_replaying_a_signed_create_is_refused_and_creates_no_second_bounty(
    api: BountyApi,
) -> None:
    body = api.sign("create_bounty", api.create_body(), POSTER)
    status, first = api.call("POST", "/v1/bounties", body)
    assert status == 201
    status, again = api.call("POST", "/v1/bounties", body)
    assert (status, again["error"]) == (409, "signature_replayed")
    assert again["details"]["ref"] == first["bounty"]["id"]
    assert everything(api) == [first["bounty"]["id"]]


def test_a_create_signed_by_another_wallet_is_403(api: BountyApi) -> None:
    body = api.sign("create_bounty", api.create_body(POSTER), ALICE)
    status, err = api.call("POST", "/v1/bounties", body)
    assert (status, err["error"]) == (403, "signer_mismatch")
    assert everything(api) == []


def test_an_expired_signature_is_401_and_creates_nothing(api: BountyApi) -> None:
    body = api.sign("create_bounty", api.create_body(), POSTER)
    api.clock.advance(601_000)
    status, err = api.call("POST", "/v1/bounties", body)
    assert (status, err["error"]) == (401, "signature_expired")
    assert everything(api) == []


def test_an_unknown_bounty_is_a_404(api: BountyApi) -> None:
    for bid in ("bty_000000000000aaaaaaaa", "nope", "bty_' OR 1=1"):
        status, body = api.call("GET", f"/v1/bounties/{bid}")
        assert (status, body["error"]) == (404, "bounty_not_found")


# -- submissions -------------------------------------------------------------------------------


def test_a_wallet_submits_once_and_reads_its_submission(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    status, body = api.submit(bid, ALICE, "my translation", content_url="https://x.org/a")
    assert status == 201
    sub = body["submission"]
    assert (sub["submitter"], sub["message"], sub["content_url"], sub["is_winner"]) == (
        ADDRESSES[ALICE], "my translation", "https://x.org/a", False
    )
    status, again = api.submit(bid, ALICE, "second try")
    assert (status, again["error"]) == (409, "already_submitted")
    assert again["details"]["submission_id"] == sub["id"]
    status, read = api.call("GET", f"/v1/bounties/{bid}/submissions/{sub['id']}")
    assert (status, read["submission"]) == (200, sub)
    assert api.bounty(bid)["submission_count"] == 1


def test_the_poster_cannot_submit_to_their_own_bounty(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    status, body = api.submit(bid, POSTER)
    assert (status, body["error"]) == (400, "self_submission")


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"message": " "}, "invalid_message"),
        ({"message": "x" * 2001}, "invalid_message"),
        ({"content_url": "ftp://x.org/a"}, "invalid_content_url"),
        ({"content_url": "https://"}, "invalid_content_url"),
        ({"content_url": "https://x.org/" + "a" * 500}, "invalid_content_url"),
        ({"content_url": "https://x.org/a b"}, "invalid_content_url"),
    ],
)
def test_bad_submissions_are_a_400_and_store_nothing(
    api: BountyApi, extra: dict[str, Any], code: str
) -> None:
    bid = api.new_bounty()["id"]
    status, body = api.submit(bid, ALICE, **extra)
    assert (status, body["error"]) == (400, code)
    assert api.call("GET", f"/v1/bounties/{bid}/submissions")[1]["submissions"] == []


def test_a_bounty_past_expiry_takes_no_submissions(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    api.clock.advance(2 * DAY - 1)
    assert api.submit(bid, ALICE)[0] == 201
    api.clock.advance(1)
    status, body = api.submit(bid, BOB)
    assert (status, body["error"], body["details"]["status"]) == (422, "bounty_closed", "judging")


def test_submissions_page_with_a_cursor(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    sids = []
    for who in (ALICE, BOB, CAROL):
        sids.append(api.new_submission(bid, who))
        api.clock.advance(1)
    status, page1 = api.call("GET", f"/v1/bounties/{bid}/submissions?limit=2")
    assert status == 200 and page1["next"]
    status, page2 = api.call("GET", f"/v1/bounties/{bid}/submissions?limit=2&next={page1['next']}")
    got = [s["id"] for s in page1["submissions"] + page2["submissions"]]
    assert got == sids and page2["next"] is None
    other = api.new_bounty()["id"]
    status, body = api.call("GET", f"/v1/bounties/{other}/submissions?next={page1['next']}")
    assert (status, body["error"]) == (400, "invalid_cursor")


# -- accept ------------------------------------------------------------------------------------


def test_the_poster_accepts_winners_slot_by_slot_until_full(api: BountyApi) -> None:
    bid = api.new_bounty(reward="3", max_winners=2)["id"]
    a, b, c = (api.new_submission(bid, w) for w in (ALICE, BOB, CAROL))
    status, body = api.accept(bid, a)
    assert status == 200
    assert (body["bounty"]["status"], body["bounty"]["winner_count"]) == ("partially-filled", 1)
    assert body["bounty"]["payments"] == [
        {"submission_id": a, "recipient": ADDRESSES[ALICE], "amount": "1.5", "asset": "native"}
    ]
    status, body = api.accept(bid, a)
    assert (status, body["error"]) == (409, "already_a_winner")
    api.clock.advance(1)
    status, body = api.accept(bid, b)
    assert (status, body["bounty"]["status"]) == (200, "winner-announced")
    assert body["bounty"]["pay_until"] == iso(api.now + 7 * DAY)
    assert [w["submission_id"] for w in body["bounty"]["winners"]] == [a, b]
    status, body = api.accept(bid, c)
    assert (status, body["error"]) == (409, "no_slots")
    status, body = api.submit(bid, DAVE)
    assert (status, body["error"]) == (422, "bounty_closed")


def test_only_the_poster_can_accept(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    sid = api.new_submission(bid, ALICE)
    status, body = api.accept(bid, sid, who=BOB)
    assert (status, body["error"]) == (403, "not_poster")
    assert api.bounty(bid)["winner_count"] == 0


def test_accepting_an_unknown_submission_is_a_404(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    other = api.new_bounty()["id"]
    sid = api.new_submission(other, ALICE)
    status, body = api.accept(bid, sid)
    assert (status, body["error"]) == (404, "submission_not_found")


def test_accepting_is_possible_until_the_last_millisecond_of_the_accept_grace(
    api: BountyApi,
) -> None:
    first = api.new_bounty()["id"]
    second = api.new_bounty()["id"]
    s1, s2 = api.new_submission(first, ALICE), api.new_submission(second, ALICE)
    api.clock.advance(2 * DAY + 14 * DAY - 1)
    assert api.accept(first, s1)[0] == 200
    api.clock.advance(1)
    status, body = api.accept(second, s2)
    assert (status, body["error"], body["details"]["status"]) == (
        422, "bounty_not_accepting", "abandoned"
    )
    assert api.bounty(second)["winner_count"] == 0


def test_is_winner_is_right_for_every_winner_on_every_page(api: BountyApi) -> None:
    bid = api.new_bounty(reward="3", max_winners=3)["id"]
    sids = []
    for who in (ALICE, BOB, CAROL, DAVE):
        sids.append(api.new_submission(bid, who))
        api.clock.advance(1)
    winners = {sids[0], sids[2], sids[3]}
    for sid in sorted(winners):
        assert api.accept(bid, sid)[0] == 200
    seen = {}
    cursor = ""
    while True:
        status, page = api.call("GET", f"/v1/bounties/{bid}/submissions?limit=1{cursor}")
        seen.update({s["id"]: s["is_winner"] for s in page["submissions"]})
        if not page["next"]:
            break
        cursor = f"&next={page['next']}"
    assert seen == {sid: sid in winners for sid in sids}
    for sid in sids:
        one = api.call("GET", f"/v1/bounties/{bid}/submissions/{sid}")[1]["submission"]
        assert one["is_winner"] == (sid in winners)


def test_replaying_a_signed_accept_is_refused(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    sid = api.new_submission(bid, ALICE)
    body = api.sign("accept_submission", {"poster": ADDRESSES[POSTER], "submission_id": sid},
                    POSTER, bid)
    assert api.call("POST", f"/v1/bounties/{bid}/accept", body)[0] == 200
    status, err = api.call("POST", f"/v1/bounties/{bid}/accept", body)
    assert (status, err["error"]) == (409, "signature_replayed")


# -- cancel ------------------------------------------------------------------------------------


def test_the_poster_cancels_a_bounty_without_winners(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    sid = api.new_submission(bid, ALICE)
    assert api.cancel(bid, who=ALICE)[1]["error"] == "not_poster"
    status, body = api.cancel(bid)
    assert (status, body["bounty"]["status"]) == (200, "cancelled")
    status, body = api.accept(bid, sid)
    assert (status, body["error"]) == (422, "bounty_not_accepting")
    status, body = api.cancel(bid)
    assert (status, body["error"]) == (422, "bounty_not_cancellable")
    status, body = api.submit(bid, BOB)
    assert (status, body["error"]) == (422, "bounty_closed")


def test_a_bounty_with_a_winner_cannot_be_cancelled(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    assert api.accept(bid, api.new_submission(bid, ALICE))[0] == 200
    status, body = api.cancel(bid)
    assert (status, body["error"]) == (409, "has_winners")
    assert api.bounty(bid)["status"] == "partially-filled"


def test_an_abandoned_bounty_cannot_be_cancelled(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    api.clock.advance(16 * DAY)
    status, body = api.cancel(bid)
    assert (status, body["error"]) == (422, "bounty_not_cancellable")


# -- payments without a chain --------------------------------------------------------------------


def test_recording_a_payment_with_no_chain_configured_is_503_and_changes_nothing(
    api: BountyApi,
) -> None:
    bid = api.new_bounty()["id"]
    sid = api.new_submission(bid, ALICE)
    assert api.accept(bid, sid)[0] == 200
    status, body = api.pay(bid, sid, "0x" + "12" * 32)
    assert (status, body["error"]) == (503, "chain_unavailable")
    assert api.bounty(bid)["paid_count"] == 0


def test_a_payment_for_a_submission_that_did_not_win_is_422(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    sid = api.new_submission(bid, ALICE)
    status, body = api.pay(bid, sid, "0x" + "12" * 32)
    assert (status, body["error"]) == (422, "not_a_winner")


def test_a_malformed_tx_hash_is_a_400(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    sid = api.new_submission(bid, ALICE)
    assert api.accept(bid, sid)[0] == 200
    status, body = api.pay(bid, sid, "0x1234")
    assert (status, body["error"]) == (400, "invalid_tx_hash")


def test_a_payment_after_the_pay_window_is_refused_before_asking_the_chain(
    api: BountyApi,
) -> None:
    bid = api.new_bounty(max_winners=1)["id"]
    sid = api.new_submission(bid, ALICE)
    assert api.accept(bid, sid)[0] == 200
    api.clock.advance(7 * DAY)
    status, body = api.pay(bid, sid, "0x" + "12" * 32)
    assert (status, body["error"], body["details"]["status"]) == (
        422, "bounty_not_payable", "abandoned"
    )


def test_only_the_poster_can_record_a_payment(api: BountyApi) -> None:
    bid = api.new_bounty()["id"]
    sid = api.new_submission(bid, ALICE)
    assert api.accept(bid, sid)[0] == 200
    status, body = api.pay(bid, sid, "0x" + "12" * 32, who=ALICE)
    assert (status, body["error"]) == (403, "not_poster")


# -- listing -----------------------------------------------------------------------------------


def test_listing_filters_by_poster_tag_and_submitter_newest_first(api: BountyApi) -> None:
    a = api.new_bounty(POSTER, tags=["docs"])["id"]
    api.clock.advance(1)
    b = api.new_bounty(BOB, tags=["code"])["id"]
    api.clock.advance(1)
    c = api.new_bounty(POSTER, tags=["code", "docs"])["id"]
    api.new_submission(a, CAROL)
    api.new_submission(b, CAROL)
    assert everything(api) == [c, b, a]
    assert api.all_pages(f"poster={ADDRESSES[POSTER]}") == [c, a]
    assert api.all_pages(f"poster={ADDRESSES[POSTER].lower()}") == [c, a]
    assert api.all_pages("tag=DOCS") == [c, a]
    assert api.all_pages(f"submitter={ADDRESSES[CAROL]}") == [b, a]
    assert api.all_pages(f"poster={ADDRESSES[POSTER]}&tag=code") == [c]
    assert api.all_pages(f"submitter={ADDRESSES[CAROL]}&poster={ADDRESSES[BOB]}") == [b]
    assert api.all_pages(f"submitter={ADDRESSES[DAVE]}") == []


def test_listing_pages_with_a_cursor_without_repeats_or_gaps(api: BountyApi) -> None:
    ids = []
    for _ in range(7):
        ids.append(api.new_bounty()["id"])
        api.clock.advance(1)
    assert api.all_pages(limit=3) == ids[::-1]
    assert api.all_pages("status=open", limit=2) == ids  # soonest to expire first


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("status=active", "invalid_status"),
        ("status=OPEN", "invalid_status"),
        ("limit=0", "invalid_limit"),
        ("limit=101", "invalid_limit"),
        ("limit=ten", "invalid_limit"),
        ("poster=0x123", "invalid_address"),
        ("tag=no%20way", "invalid_tags"),
        ("next=garbage", "invalid_cursor"),
        ("colour=red", "unknown_parameter"),
    ],
)
def test_bad_listing_queries_are_a_400(api: BountyApi, query: str, code: str) -> None:
    status, body = api.listing(query)
    assert (status, body["error"]) == (400, code)


def test_a_cursor_is_refused_with_other_filters(api: BountyApi) -> None:
    for _ in range(3):
        api.new_bounty()
    status, body = api.listing("limit=1")
    status, err = api.listing(f"status=open&limit=1&next={body['next']}")
    assert (status, err["error"]) == (400, "invalid_cursor")


def test_list_filters_agree_with_the_status_function_at_every_boundary_tick(
    api: BountyApi,
) -> None:
    t0 = api.now
    open_ = api.new_bounty(max_winners=2, reward="2")["id"]
    partial = api.new_bounty(max_winners=2, reward="2")["id"]
    full = api.new_bounty(max_winners=1, reward="2")["id"]
    cancelled = api.new_bounty()["id"]
    late = api.new_bounty(max_winners=1, reward="2")["id"]
    assert api.accept(partial, api.new_submission(partial, ALICE))[0] == 200
    assert api.accept(full, api.new_submission(full, ALICE))[0] == 200
    assert api.cancel(cancelled)[0] == 200
    late_sid = api.new_submission(late, BOB)
    api.clock.set(t0 + 2 * DAY + DAY)
    assert api.accept(late, late_sid)[0] == 200  # filled while judging
    expiry, grace, pay = t0 + 2 * DAY, 14 * DAY, 7 * DAY
    ticks = [expiry, expiry + grace, expiry + grace + pay, t0 + pay, t0 + 3 * DAY + pay]
    for tick in ticks:
        for moment in (tick - 1, tick, tick + 1):
            api.clock.set(moment)
            truth = {bid: api.bounty(bid)["status"]
                     for bid in (open_, partial, full, cancelled, late)}
            for status in STATUSES:
                listed = set(api.all_pages(f"status={status}"))
                assert listed == {b for b, s in truth.items() if s == status}, (moment, status)
                in_poster_listing = set(
                    api.all_pages(f"status={status}&poster={ADDRESSES[POSTER]}")
                )
                assert in_poster_listing == listed


# -- typed data routes and cold start --------------------------------------------------------------


def test_typed_data_routes_list_and_describe_the_bounty_actions(api: BountyApi) -> None:
    status, body = api.call("GET", "/v1/typed-data")
    assert status == 200
    assert {"create_bounty", "submit_solution", "accept_submission", "record_payment",
            "cancel_bounty"} <= {a["name"] for a in body["actions"]}
    status, body = api.call("GET", "/v1/typed-data/record_payment")
    assert status == 200
    assert body["primaryType"] == "RecordPayment"
    assert body["domain"] == {
        "name": "Settlekit", "version": "1", "chainId": 31337,
        "salt": api.rt.settings.deployment_salt,
    }
    assert {"name": "salt", "type": "bytes32"} in body["types"]["EIP712Domain"]
    status, body = api.call("GET", "/v1/typed-data/nope")
    assert (status, body["error"]) == (404, "unknown_action")


READS_ONLY = textwrap.dedent(
    """
    import json, sys
    import boto3
    from moto import mock_aws
    from chalice.test import Client
    import app
    from chalicelib.core.runtime import Runtime, set_runtime
    from chalicelib.core.settings import load_settings
    from chalicelib.core.table import ensure_table

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(client, "t")
        set_runtime(Runtime(load_settings({"TABLE_NAME": "t"}), dynamodb_client=client))
        with Client(app.app) as c:
            codes = [c.http.get(p).status_code for p in (
                "/v1/bounties", "/v1/bounties?status=open", "/v1/bounties/bty_000000000000aaaaaaaa",
                "/v1/typed-data/create_bounty")]
    loaded = sorted(m for m in ("web3", "eth_account") if m in sys.modules)
    print(json.dumps({"codes": codes, "loaded": loaded}))
    """
)


def test_bounty_reads_import_neither_web3_nor_eth_account() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CHAIN_RPC_URL"}
    proc = subprocess.run(
        [sys.executable, "-c", READS_ONLY], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "codes": [200, 200, 404, 200], "loaded": []
    }
