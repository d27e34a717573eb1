"""`make package` for every stage: the template cfn-lint accepts, its rights and its operations.

One build per stage (module-scoped, ~1-2 min each: Chalice fetches Lambda wheels from the
registry, then cfn-lint runs), so every test here is marked slow.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.table import TTL_ATTRIBUTE, WORK_INDEX
from scripts.operations import function_name

ROOT = Path(__file__).resolve().parents[2]
STAGES = ["dev", "prod"]
API_GATEWAY_LIMIT_S = 29
# One payout engine per wallet purpose (lane), each signing, each one at a time.
ENGINES = ("payout_engine_escrow", "payout_engine_faucet", "payout_engine_anchor")
SECRET_VARIABLES = {"ADMIN_TOKEN", "SIGNER_PRIVATE_KEY", "CHAIN_RPC_URL"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=STAGES)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    stage = request.param
    out = tmp_path_factory.mktemp(f"package-{stage}")
    result = subprocess.run(
        [sys.executable, "-m", "scripts.package_app", str(out), "--stage", stage],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return stage, json.loads((out / "sam.json").read_text()), (out / "sam.json").read_text()


@pytest.fixture
def stage(built: Any) -> str:
    return str(built[0])


@pytest.fixture
def template(built: Any) -> dict[str, Any]:
    return dict(built[1])


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Handler name (payout_engine, api_handler, ...) -> function resource."""
    out = {}
    for resource in of_type(template, "AWS::Serverless::Function").values():
        handler = resource["Properties"]["Handler"].split(".", 1)[1]
        out["api_handler" if handler == "app" else handler] = resource
    return out


def statements(template: dict[str, Any], function: dict[str, Any]) -> list[dict[str, Any]]:
    role = template["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def actions(stmts: list[dict[str, Any]]) -> set[str]:
    return {a for s in stmts for a in s["Action"]}


def resources_of(stmt: dict[str, Any]) -> list[Any]:
    res = stmt["Resource"]
    return res if isinstance(res, list) else [res]


def arn_text(resource: Any) -> str:
    return resource["Fn::Sub"] if isinstance(resource, dict) and "Fn::Sub" in resource else ""


# -- the table and the routes (as before) -----------------------------------------------------


def test_template_holds_the_table_with_its_index_ttl_and_recovery(
    template: dict[str, Any], stage: str
) -> None:
    tables = list(of_type(template, "AWS::DynamoDB::Table").values())
    assert len(tables) == 1
    props = tables[0]["Properties"]
    assert props["TableName"] == f"settlekit-{stage}"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in props["GlobalSecondaryIndexes"]] == [WORK_INDEX]
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_template_schedules_one_payout_engine_per_lane(template: dict[str, Any]) -> None:
    fns = functions(template)
    for name in ENGINES:
        events = fns[name]["Properties"]["Events"].values()
        schedules = [e["Properties"]["Schedule"] for e in events]
        assert schedules == ["rate(1 minute)"], name
        lane = name.rsplit("_", 1)[1]
        assert fns[name]["Properties"]["Handler"] == f"app.payout_engine_{lane}"
    assert "payout_engine" not in fns  # no engine that runs every lane in one invocation


def test_template_turns_api_gateway_unknown_paths_into_json_404(template: dict[str, Any]) -> None:
    resp = template["Resources"]["UnknownRouteResponse"]["Properties"]
    assert resp["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN"
    assert resp["StatusCode"] == "404"
    assert json.loads(resp["ResponseTemplates"]["application/json"])["error"] == "not_found"


# -- least privilege per function --------------------------------------------------------------


def test_only_the_payout_engine_may_sign(template: dict[str, Any]) -> None:
    fns = functions(template)
    assert set(fns) == {"api_handler", *ENGINES, "anchor_messages", "otc_expiry",
                        "otc_reconcile", "otc_reserves", "deliver_webhooks"}
    roles = {fn["Properties"]["Role"]["Fn::GetAtt"][0] for fn in fns.values()}
    assert len(roles) == len(fns)  # one role each: no shared policy
    for name, fn in fns.items():
        granted = actions(statements(template, fn))
        assert ("kms:Sign" in granted) is (name in ENGINES), name
        assert not any(a.endswith("*") for a in granted), (name, granted)
        assert not granted & {"kms:Decrypt", "kms:CreateKey", "dynamodb:Scan", "kms:*"}


def kms_aliases(stmts: list[dict[str, Any]], action: str) -> set[str]:
    """The KMS aliases `action` is granted on (every KMS grant must name its keys by alias)."""
    out: set[str] = set()
    for stmt in stmts:
        if action in stmt["Action"]:
            assert stmt["Resource"] == {
                "Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"
            }
            out |= set(stmt["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"])
    return out


def test_each_lane_may_sign_only_with_its_own_purposes_kms_key(
    template: dict[str, Any], stage: str
) -> None:
    every = {f"alias/settlekit-{stage}-{p}" for p in ("escrow", "faucet", "anchor")}
    for name, fn in functions(template).items():
        stmts = statements(template, fn)
        assert kms_aliases(stmts, "kms:GetPublicKey") == every, name  # every wallet's address
        lane = name.rsplit("_", 1)[1] if name in ENGINES else None
        expected = {f"alias/settlekit-{stage}-{lane}"} if lane else set()
        assert kms_aliases(stmts, "kms:Sign") == expected, name


def test_table_rights_name_region_account_and_table(template: dict[str, Any], stage: str) -> None:
    prefix = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"
    for fn in functions(template).values():
        [table] = [s for s in statements(template, fn) if s["Action"][0].startswith("dynamodb:")]
        assert sorted(arn_text(r) for r in resources_of(table)) == [
            f"{prefix}settlekit-{stage}",
            f"{prefix}settlekit-{stage}/index/{WORK_INDEX}",
        ]


def test_each_function_writes_only_its_own_log_group(template: dict[str, Any], stage: str) -> None:
    for name, fn in functions(template).items():
        logs = [s for s in statements(template, fn) if s["Action"][0].startswith("logs:")]
        [resource] = [r for s in logs for r in resources_of(s)]
        assert arn_text(resource).endswith(f":log-group:/aws/lambda/{function_name(stage, name)}:*")
        assert "logs:CreateLogGroup" not in actions(logs)  # the template creates it


def test_no_statement_grants_every_resource_without_a_condition(template: dict[str, Any]) -> None:
    for fn in functions(template).values():
        for stmt in statements(template, fn):
            for resource in resources_of(stmt):
                text = resource if isinstance(resource, str) else arn_text(resource)
                if text.endswith("*") and ":log-group:" not in text:
                    assert "Condition" in stmt, stmt
                assert text != "*"


def test_parameters_are_readable_only_under_the_stage_prefix(
    template: dict[str, Any], stage: str
) -> None:
    for fn in functions(template).values():
        [ssm] = [s for s in statements(template, fn) if s["Action"] == ["ssm:GetParameters"]]
        assert all(f":parameter/settlekit/{stage}/" in arn_text(r) for r in resources_of(ssm))


# -- no secrets --------------------------------------------------------------------------------


def test_no_secret_is_in_any_environment_or_anywhere_in_the_template(built: Any) -> None:
    stage, template, text = built
    for name, fn in functions(template).items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert not set(env) & SECRET_VARIABLES, name
        assert env["SECRETS_FROM"] == "ssm" and "SIGNER" not in env  # no shared wallet
        for purpose in ("escrow", "faucet", "anchor"):
            assert env[f"{purpose.upper()}_SIGNER"] == f"kms:alias/settlekit-{stage}-{purpose}"
    assert not re.search(r"\b(0x)?[0-9a-fA-F]{64}\b", text)  # no private key
    assert "ADMIN_TOKEN" not in text and "SIGNER_PRIVATE_KEY" not in text


def test_only_the_payout_engine_runs_the_signing_jobs(template: dict[str, Any]) -> None:
    for name, fn in functions(template).items():
        signing = fn["Properties"]["Environment"]["Variables"]["PAYOUT_SIGNING"]
        assert signing == ("true" if name in ENGINES else "false"), name


# -- operations --------------------------------------------------------------------------------


def test_payout_engine_runs_one_at_a_time_and_api_answers_before_the_gateway_cuts(
    template: dict[str, Any],
) -> None:
    fns = functions(template)
    for name in ENGINES:  # each lane one at a time; the lanes side by side
        assert fns[name]["Properties"]["ReservedConcurrentExecutions"] == 1, name
    for name in set(fns) - set(ENGINES):
        assert "ReservedConcurrentExecutions" not in fns[name]["Properties"], name
    assert fns["api_handler"]["Properties"]["Timeout"] < API_GATEWAY_LIMIT_S


def test_every_function_has_a_log_group_with_retention(
    template: dict[str, Any], stage: str
) -> None:
    groups = {
        g["Properties"]["LogGroupName"]: g["Properties"]
        for g in of_type(template, "AWS::Logs::LogGroup").values()
    }
    for name in functions(template):
        group = groups[f"/aws/lambda/{function_name(stage, name)}"]
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_a_failed_scheduled_tick_is_not_replayed_late(template: dict[str, Any]) -> None:
    scheduled = [f for f in functions(template).values() if f["Properties"].get("Events")]
    # 3 payout lanes, anchors, OTC expiry, reconcile and reserves, webhooks
    assert len(scheduled) == 8
    for fn in scheduled:
        no_replay = {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}
        assert fn["Properties"]["EventInvokeConfig"] == no_replay
        for event in fn["Properties"]["Events"].values():
            assert event["Properties"]["RetryPolicy"] == no_replay


def test_the_api_stage_is_throttled(template: dict[str, Any]) -> None:
    [setting] = template["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    assert setting["ResourcePath"] == "/*" and setting["HttpMethod"] == "*"
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRate"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurst"}


def test_alerts_go_to_the_topic_which_every_function_knows(
    template: dict[str, Any], stage: str
) -> None:
    topic = template["Resources"]["AlertTopic"]
    assert topic["Type"] == "AWS::SNS::Topic"
    assert topic["Properties"]["TopicName"] == f"settlekit-{stage}-alerts"
    sub = template["Resources"]["AlertEmailSubscription"]
    assert sub["Condition"] == "HasAlertEmail" and sub["Properties"]["Protocol"] == "email"
    assert template["Parameters"]["AlertEmail"]["Default"] == ""
    for fn in functions(template).values():
        assert fn["Properties"]["Environment"]["Variables"]["ALERT_TOPIC_ARN"] == {
            "Ref": "AlertTopic"
        }
        publish = [s for s in statements(template, fn) if s["Action"] == ["sns:Publish"]]
        assert [s["Resource"] for s in publish] == [{"Ref": "AlertTopic"}]


def test_alarms_watch_engine_errors_due_age_balance_and_needs_attention(
    template: dict[str, Any], stage: str
) -> None:
    alarms = {k: r["Properties"] for k, r in of_type(template, "AWS::CloudWatch::Alarm").items()}
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert metrics == {
        ("AWS/Lambda", "Errors"),
        ("Settlekit", "OldestDuePayoutAgeSeconds"),
        ("Settlekit", "HotWalletBalanceEth"),
        ("Settlekit", "PayoutsNeedingAttention"),
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
    errors = [a for a in alarms.values() if a["MetricName"] == "Errors"]
    engines = [k for k, r in of_type(template, "AWS::Serverless::Function").items()
               if r["Properties"]["Handler"].removeprefix("app.") in ENGINES]
    assert len(engines) == len(ENGINES)
    assert sorted(a["Dimensions"][0]["Value"]["Ref"] for a in errors) == sorted(engines)
    for alarm in errors:
        assert alarm["Dimensions"][0]["Name"] == "FunctionName"
    for alarm in alarms.values():
        if alarm["Namespace"] == "Settlekit":
            assert alarm["Dimensions"] == [{"Name": "Stage", "Value": stage}]
