"""Re-enabling a disabled event: claims and new codes work again; counts stay right."""

from __future__ import annotations

from tests.e2e import test_faucet_drips as harness
from tests.e2e.test_events_api import claim, counts, new_codes, new_event
from tests.e2e.test_faucet_drips import BOB, Api, error

# Shared fixtures, used by name.
make_api = harness.make_api
api = harness.api


def test_a_re_enabled_event_takes_claims_and_codes_again(api: Api) -> None:
    event = new_event(api)
    created = new_codes(api, event["id"], 2)
    api.post(f"/v1/events/{event['id']}/disable", {"by": "ops"}, admin=True)
    assert error(claim(api, created[0], BOB)) == "event_disabled"

    enabled = api.post(f"/v1/events/{event['id']}/enable", {"by": "ops"}, admin=True)
    assert enabled.status_code == 200
    assert enabled.json_body["status"] == "active" and enabled.json_body["disabled_at"] is None
    again = api.post(f"/v1/events/{event['id']}/enable", admin=True)
    assert again.status_code == 200 and again.json_body["status"] == "active"

    accepted = claim(api, created[0], BOB)
    assert accepted.status_code == 202, accepted.json_body
    more = api.post(f"/v1/events/{event['id']}/codes", {"count": 1}, admin=True)
    assert more.status_code == 201
    now = counts(api, event["id"])
    assert (now["available"], now["claimed"], now["total"]) == (2, 1, 3)


def test_enabling_needs_the_admin_token_and_a_known_event(api: Api) -> None:
    event = new_event(api)
    assert api.post(f"/v1/events/{event['id']}/enable").status_code == 401
    missing = api.post("/v1/events/ev_0000000000000000/enable", admin=True)
    assert missing.status_code == 404 and error(missing) == "event_not_found"
    bad = api.post(f"/v1/events/{event['id']}/enable", {"reason": "x"}, admin=True)
    assert bad.status_code == 400
    assert api.get(f"/v1/events/{event['id']}", admin=True).json_body["status"] == "active"
