"""`make package` builds a template with the table and the schedules (needs the registry)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.table import TTL_ATTRIBUTE, WORK_INDEX

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("package")
    result = subprocess.run(
        [sys.executable, "-m", "scripts.package_app", str(out), "--stage", "dev"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((out / "sam.json").read_text())


@pytest.mark.slow
def test_template_holds_the_table_with_its_index_ttl_and_recovery(template: dict[str, Any]) -> None:
    tables = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert len(tables) == 1
    props = tables[0]["Properties"]
    assert props["TableName"] == "settlekit-dev"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in props["GlobalSecondaryIndexes"]] == [WORK_INDEX]
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


@pytest.mark.slow
def test_template_schedules_the_payout_engine(template: dict[str, Any]) -> None:
    schedules = {
        name: event["Properties"]["Schedule"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for name, event in resource["Properties"].get("Events", {}).items()
        if event["Type"] == "Schedule"
    }
    assert any("rate(1 minute)" in s for s in schedules.values()), schedules
    functions = [
        r["Properties"]["Handler"] for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    ]
    assert "app.payout_engine" in functions


@pytest.mark.slow
def test_every_role_carries_exactly_the_stage_policy_file(template: dict[str, Any]) -> None:
    policy = json.loads((ROOT / ".chalice" / "policy-dev.json").read_text())
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        documents = [p["PolicyDocument"] for p in role["Properties"]["Policies"]]
        assert documents == [policy]
    table_statement = policy["Statement"][0]
    assert all("settlekit-dev" in r for r in table_statement["Resource"])
    assert "dynamodb:Scan" not in table_statement["Action"]


@pytest.mark.slow
def test_template_turns_api_gateway_unknown_paths_into_json_404(template: dict[str, Any]) -> None:
    resp = template["Resources"]["UnknownRouteResponse"]["Properties"]
    assert resp["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN"
    assert resp["StatusCode"] == "404"
    assert json.loads(resp["ResponseTemplates"]["application/json"])["error"] == "not_found"
