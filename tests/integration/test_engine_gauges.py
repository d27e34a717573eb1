"""The payout engine's gauges (for the template's alarms) and who runs the signing jobs."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from chalicelib import jobs
from chalicelib.core.metrics import NAMESPACE
from chalicelib.core.outbox.gauges import gauges
from chalicelib.core.outbox.model import NEEDS_ATTENTION, index_fields, payout_key
from chalicelib.core.runtime import Runtime
from tests.integration.conftest import HOT_NATIVE
from tests.integration.payouts import ETH, deadline, new_address, request, stored

pytestmark = pytest.mark.chain


def test_gauges_report_the_oldest_due_payout_parked_ones_and_the_balance(
    payout_rt: Runtime,
) -> None:
    rt = payout_rt
    assert gauges(rt) == {
        "OldestDuePayoutAgeSeconds": 0.0,
        "PayoutsNeedingAttention": 0.0,
        "HotWalletBalanceEth": HOT_NATIVE / ETH,
    }
    first = request(rt, "gauge-1", "native", new_address(), ETH)
    rt.clock.advance(30_000)
    request(rt, "gauge-2", "native", new_address(), ETH)
    rt.clock.advance(90_000)
    assert gauges(rt)["OldestDuePayoutAgeSeconds"] == 120.0

    # Park the oldest as the engine does (status and index placement in one write).
    rt.store.update(
        payout_key(first["id"]),
        set={"status": NEEDS_ATTENTION, **index_fields(NEEDS_ATTENTION, first["created_at"],
                                                       first["id"])},
    )
    values = gauges(rt)
    assert values["PayoutsNeedingAttention"] == 1.0
    assert values["OldestDuePayoutAgeSeconds"] == 90.0


def test_in_lambda_the_engine_run_emits_its_gauges_as_emf(
    payout_rt: Runtime, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "settlekit-test-payout_engine")
    jobs.payouts(payout_rt, deadline(payout_rt))
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if line.startswith("{") and '"_aws"' in line]
    [record] = records
    [directive] = record["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE and directive["Dimensions"] == [["Stage"]]
    names = {m["Name"] for m in directive["Metrics"]}
    assert names == {"OldestDuePayoutAgeSeconds", "PayoutsNeedingAttention", "HotWalletBalanceEth"}
    assert all(isinstance(record[n], float) for n in names)


def test_outside_lambda_no_metric_lines_are_written(
    payout_rt: Runtime, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    jobs.payouts(payout_rt, deadline(payout_rt))
    assert '"_aws"' not in capsys.readouterr().out


def test_a_function_without_signing_rights_leaves_payouts_to_the_engine(
    payout_rt: Runtime, w3: Any
) -> None:
    api_rt = Runtime(
        dataclasses.replace(payout_rt.settings, payout_signing=False),
        clock=payout_rt.clock,
        dynamodb_client=payout_rt.store.client,
    )
    payout = request(api_rt, "api-side", "native", new_address(), ETH)
    assert jobs.payouts(api_rt, deadline(api_rt)) == {"skipped": "signing_elsewhere"}
    assert stored(api_rt, payout["id"])["status"] == "requested"
    assert jobs.payouts(payout_rt, deadline(payout_rt))["requested->signed"] == 1
