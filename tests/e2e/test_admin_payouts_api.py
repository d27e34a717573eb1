"""`GET /v1/admin/payouts` without a status lists every payout, page by page across statuses."""

from __future__ import annotations

from chalice.test import Client

from chalicelib.core.outbox.intents import make_intent, request_payout
from chalicelib.core.outbox.model import index_fields, payout_key
from chalicelib.core.runtime import Runtime
from tests.e2e.test_messages_api import ADMIN, api, rt  # noqa: F401 - fixtures, used by name

TO = "0x" + "22" * 20


def test_without_a_status_every_payout_is_listed_across_pages(
    api: Client, rt: Runtime  # noqa: F811
) -> None:
    made = []
    for n in range(5):
        intent = make_intent(
            f"admin:k{n}", "native", TO, 10 + n, "admin", f"k{n}", purpose="faucet"
        )
        payout, _ = request_payout(rt.store, intent, rt.clock.now_ms())
        made.append(payout["id"])
    for pid in made[:2]:  # two of them have ended
        rt.store.update(payout_key(pid), set={"status": "confirmed",
                                              **index_fields("confirmed", 0, pid)})
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        resp = api.http.get(f"/v1/admin/payouts?limit=2{cursor}", headers=ADMIN)
        assert resp.status_code == 200, resp.json_body
        seen += [p["id"] for p in resp.json_body["payouts"]]
        if resp.json_body["next"] is None:
            break
        cursor = f"&next={resp.json_body['next']}"
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    one = api.http.get("/v1/admin/payouts?status=confirmed", headers=ADMIN).json_body["payouts"]
    assert sorted(p["id"] for p in one) == sorted(made[:2])
    bad = api.http.get("/v1/admin/payouts?next=zz", headers=ADMIN)
    assert (bad.status_code, bad.json_body["error"]) == (400, "invalid_cursor")
