"""Each payout lane's role may sign with its own purpose's KMS key and no other.

`scripts/operations.apply` is run on a small template shaped like Chalice's (one function per
handler, each with its role and the environment Chalice gives it from `.chalice/config.json`);
the full `make package` build is checked in tests/e2e/test_deploy_template.py (slow).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.settings import load_settings
from chalicelib.core.wallets import lane_specs
from scripts import operations

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ("app", "payout_engine_escrow", "payout_engine_faucet", "payout_engine_anchor",
            "otc_reserves")
LANES = {"payout_engine_escrow": "escrow", "payout_engine_faucet": "faucet",
         "payout_engine_anchor": "anchor"}


def stage_env(stage: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config["stages"][stage]["environment_variables"])


def chalice_like(env: dict[str, str]) -> dict[str, Any]:
    resources: dict[str, Any] = {"RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {}}}
    for handler in HANDLERS:
        logical = "".join(w.title() for w in handler.split("_"))
        resources[f"{logical}Role"] = {"Type": "AWS::IAM::Role", "Properties": {}}
        resources[logical] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Handler": f"app.{handler}",
                "Role": {"Fn::GetAtt": [f"{logical}Role", "Arn"]},
                "Environment": {"Variables": dict(env)},
            },
        }
    return {"Resources": resources}


def rights(template: dict[str, Any], action: str) -> dict[str, set[str]]:
    """Handler name -> the KMS aliases/keys the function's role may use `action` on."""
    out: dict[str, set[str]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        name = operations.handler_name(resource)
        role = template["Resources"][resource["Properties"]["Role"]["Fn::GetAtt"][0]]
        granted: set[str] = set()
        for policy in role["Properties"]["Policies"]:
            for stmt in policy["PolicyDocument"]["Statement"]:
                if action not in stmt["Action"]:
                    continue
                condition = stmt.get("Condition", {}).get("ForAnyValue:StringEquals", {})
                granted |= set(condition.get("kms:ResourceAliases", []))
                if "Condition" not in stmt:
                    res = stmt["Resource"] if isinstance(stmt["Resource"], list) else [
                        stmt["Resource"]]
                    granted |= {r if isinstance(r, str) else r["Fn::Sub"] for r in res}
        out[name] = granted
    return out


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_lane_signs_only_with_its_own_purposes_key(stage: str) -> None:
    template = operations.apply(chalice_like(stage_env(stage)), stage, f"settlekit-{stage}")
    sign = rights(template, "kms:Sign")
    for name, purpose in LANES.items():
        assert sign[name] == {f"alias/settlekit-{stage}-{purpose}"}, name
    assert sign["api_handler"] == set() and sign["otc_reserves"] == set()
    every = {f"alias/settlekit-{stage}-{p}" for p in LANES.values()}
    # Every function may read every wallet's address, and nothing else of KMS.
    assert all(keys == every for keys in rights(template, "kms:GetPublicKey").values())


def test_a_shared_wallet_is_an_explicit_setting_signed_by_one_lane_alone() -> None:
    env = {"STAGE": "prod", "SIGNER": "kms:alias/settlekit-prod-hot"}
    template = operations.apply(chalice_like(env), "prod", "settlekit-prod")
    sign = rights(template, "kms:Sign")
    # The shared key's payouts are worked by the first purpose's lane: it alone signs.
    assert sign["payout_engine_escrow"] == {"alias/settlekit-prod-hot"}
    assert sign["payout_engine_faucet"] == sign["payout_engine_anchor"] == set()


def test_a_retiring_key_is_signed_by_the_lane_named_for_it() -> None:
    env = {**stage_env("prod"),
           "RETIRING_SIGNERS": "escrow=kms:alias/settlekit-prod-escrow-1,kms:1234-abcd"}
    template = operations.apply(chalice_like(env), "prod", "settlekit-prod")
    sign = rights(template, "kms:Sign")
    assert sign["payout_engine_escrow"] == {"alias/settlekit-prod-escrow",
                                            "alias/settlekit-prod-escrow-1"}
    key_arn = "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/1234-abcd"
    assert sign["payout_engine_anchor"] == {"alias/settlekit-prod-anchor", key_arn}
    assert sign["payout_engine_faucet"] == {"alias/settlekit-prod-faucet"}


def test_lane_specs_follow_the_wallets_each_lane_works() -> None:
    dedicated = load_settings(stage_env("prod"))
    assert lane_specs(dedicated) == {p: [f"kms:alias/settlekit-prod-{p}"] for p in LANES.values()}
    mixed = load_settings({"STAGE": "prod", "SIGNER": "kms:alias/settlekit-prod-hot",
                           "ESCROW_SIGNER": "kms:alias/settlekit-prod-escrow"})
    # Escrow on its own key; faucet and anchor share the hot key, worked by the faucet lane.
    assert lane_specs(mixed) == {"escrow": ["kms:alias/settlekit-prod-escrow"],
                                 "faucet": ["kms:alias/settlekit-prod-hot"], "anchor": []}
