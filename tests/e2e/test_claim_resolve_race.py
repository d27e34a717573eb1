"""An admin's claim resolution racing the confirmer: the payout's own outcome always wins, so a
code is never paid twice (release after confirmed) nor lost (paid after a proven failure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.core.outbox.finalize import run_finalizers
from chalicelib.core.outbox.model import finalize_marker, index_fields, payout_key
from chalicelib.core.store import DynamoStore, Item
from tests.e2e import test_faucet_drips as harness
from tests.e2e.test_claims_api import claim_record, state
from tests.e2e.test_events_api import claim, new_codes, new_event
from tests.e2e.test_faucet_drips import ALICE, BOB, Api, error

make_api = harness.make_api
api = harness.api


class ConfirmerRacesTheRead(DynamoStore):
    """Right after the resolve reads the payout, the engine concludes it (as in AWS, where the
    confirmer runs in another Lambda at any moment)."""

    def __init__(self, inner: DynamoStore, pid: str, conclude: Callable[[], None]) -> None:
        super().__init__(inner.client, inner.table)
        self.pid, self.conclude, self.raced = pid, conclude, False

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        item = super().get(pk, sk, consistent=consistent)
        if not self.raced and (pk, sk) == tuple(payout_key(self.pid).values()):
            self.raced = True
            self.conclude()
        return item


def engine_concludes(api: Api, pid: str, status: str) -> Callable[[], None]:
    """The engine's terminal write: status + finalize marker, version bumped (no finalizer yet)."""

    def conclude() -> None:
        payout = api.rt.store.get(**payout_key(pid))
        assert payout is not None
        api.rt.store.update(
            payout_key(pid),
            set={"status": status, **index_fields(status, payout["created_at"], pid)},
            add={"version": 1},
        )
        api.rt.store.put(finalize_marker(payout, status, api.clock.now_ms()))

    return conclude


@pytest.mark.parametrize(
    ("outcome", "engine", "code_state", "claim_status"),
    [("release", "confirmed", "paid", "paid"), ("paid", "failed", "available", "failed")],
)
def test_a_resolution_racing_the_engines_conclusion_is_refused_and_the_outcome_applies_once(
    api: Api, outcome: str, engine: str, code_state: str, claim_status: str
) -> None:
    from chalicelib import jobs

    event = new_event(api, amount="5")
    code = new_codes(api, event["id"], 1)[0]
    pid = claim(api, code, ALICE).json_body["payout_id"]
    api.conclude(pid, "needs_attention")
    assert state(api, code) == "needs_attention"

    plain = api.rt.store
    api.rt.__dict__["store"] = ConfirmerRacesTheRead(plain, pid, engine_concludes(api, pid, engine))
    try:
        resp = api.post(f"/v1/admin/claims/{code}/resolve", {"outcome": outcome, "by": "ops"},
                        admin=True)
    finally:
        api.rt.__dict__["store"] = plain
    assert resp.status_code == 409, resp.json_body
    assert error(resp) == "payout_changed"
    assert state(api, code) == "needs_attention"  # nothing of the decision was written

    jobs.register_owners()
    run_finalizers(api.rt, api.clock.now_ms() + 60_000)  # the engine's outcome applies
    assert state(api, code) == code_state
    record: Any = claim_record(api, code, 1)
    assert record["status"] == claim_status and "resolution" not in record
    again = claim(api, code, BOB)
    if code_state == "paid":
        assert again.status_code == 409  # never claimable twice
    else:
        assert again.status_code == 202 and again.json_body["attempt"] == 2
