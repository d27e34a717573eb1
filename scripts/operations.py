"""What `make package` adds to Chalice's template to run with real money: rights and operations.

- One role per function with only what that function needs (`role_policy`): the table and its
  index by full ARN, its own log group, the stage's SSM parameters, the wallets' public keys,
  the alert topic; `kms:Sign` for the payout engines alone (one per wallet purpose, a lane),
  each on its own purpose's KMS key only (`wallets.lane_specs`, read from the function's own
  settings, so the rights follow ESCROW_SIGNER, ..., SIGNER and RETIRING_SIGNERS).
- Operations: a log group with retention per function, no late replays of a scheduled tick
  (no async retries, events older than a minute dropped), API Gateway stage throttling, an SNS
  topic `alerts` with an optional e-mail subscription, and CloudWatch alarms on the engine's
  errors (each lane's) and on the gauges they emit (chalicelib/core/outbox/gauges.py).

Nothing secret goes in: secrets are read from SSM at cold start (chalicelib/core/parameters.py).
"""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.core.metrics import DIMENSION, NAMESPACE
from chalicelib.core.parameters import PARAMETERS
from chalicelib.core.settings import Settings, load_settings, retiring_lane
from chalicelib.core.table import WORK_INDEX
from chalicelib.core.wallets import PURPOSES, lane_specs

ALERT_TOPIC = "AlertTopic"
# One payout engine per wallet purpose: lanes run side by side, so a faucet burst never delays
# a settlement or an anchor; each signs with its own purpose's KMS key and no other.
LANE_FUNCTIONS = {f"payout_engine_{purpose}": purpose for purpose in PURPOSES}
SIGNING_FUNCTIONS = tuple(LANE_FUNCTIONS)
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
]
# A scheduled tick that failed is not replayed: the next one (a minute later) does its work.
SCHEDULE_MAX_EVENT_AGE_S = 60
# Alarms look at 5-minute windows: long enough to ignore one slow tick, short enough to page.
ALARM_PERIOD_S = 300

PARAMETERS_SECTION: dict[str, Any] = {
    "AlertEmail": {
        "Type": "String",
        "Default": "",
        "Description": "E-mail address subscribed to the alerts topic (empty: none)",
    },
    "LogRetentionDays": {
        "Type": "Number",
        "Default": 30,
        "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 180, 365, 731, 1827, 3653],
        "Description": "How long the functions' logs are kept",
    },
    "ApiThrottleRate": {
        "Type": "Number",
        "Default": 50,
        "MinValue": 1,
        "Description": "Steady requests per second the API stage accepts",
    },
    "ApiThrottleBurst": {
        "Type": "Number",
        "Default": 100,
        "MinValue": 1,
        "Description": "Burst of requests the API stage accepts",
    },
    "HotWalletMinBalanceEth": {
        "Type": "Number",
        "Default": 0.5,
        "Description": "Alarm when a wallet's native balance (gas) falls below this",
    },
    "OldestDuePayoutMaxAgeSeconds": {
        "Type": "Number",
        "Default": 900,
        "MinValue": 60,
        "Description": "Alarm when a payout has waited longer than this to be confirmed",
    },
}


def function_name(stage: str, name: str) -> str:
    """The function's physical name (as `chalice deploy` names it); log groups follow it."""
    return f"settlekit-{stage}-{name}"


def _arn(service: str, resource: str) -> dict[str, str]:
    """An ARN naming this stack's region and account (CloudFormation fills them in)."""
    where = "${AWS::Partition}:" + service + ":${AWS::Region}:${AWS::AccountId}"
    return {"Fn::Sub": f"arn:{where}:{resource}"}


def wallet_specs(settings: Settings) -> list[str]:
    """Every KMS key the deployment's wallets use (active, shared, retiring): their public keys
    give the addresses every function shows."""
    specs = [getattr(settings, f"{p}_signer") for p in PURPOSES] + [settings.signer]
    specs += [retiring_lane(entry)[1] for entry in settings.retiring_signers]
    return sorted({s for s in specs if s and s.startswith("kms:")})


def kms_statements(sid: str, action: str, specs: list[str]) -> list[dict[str, Any]]:
    """`action` on exactly the keys of `specs` (`kms:<alias/..., key id or ARN>`).

    IAM cannot name a key by its alias, so aliases go in a `kms:ResourceAliases` condition
    (exact names: a new alias needs a new deployment, which changing the setting is anyway);
    key ids and ARNs are named as resources.
    """
    ids = [s.removeprefix("kms:") for s in specs]
    aliases = sorted(i for i in ids if i.startswith("alias/"))
    keys: list[Any] = [
        i if i.startswith("arn:") else _arn("kms", f"key/{i}")
        for i in sorted(ids) if not i.startswith("alias/")
    ]
    out: list[dict[str, Any]] = []
    if aliases:
        out.append({
            "Sid": f"{sid}ByAlias", "Effect": "Allow", "Action": [action],
            "Resource": _arn("kms", "key/*"),
            "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases}},
        })
    if keys:
        out.append({"Sid": f"{sid}ByKey", "Effect": "Allow", "Action": [action], "Resource": keys})
    return out


def role_policy(stage: str, table: str, name: str, settings: Settings) -> dict[str, Any]:
    """The policy of one function's role, given the settings it runs with."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Table",
            "Effect": "Allow",
            "Action": TABLE_ACTIONS,
            "Resource": [
                _arn("dynamodb", f"table/{table}"),
                _arn("dynamodb", f"table/{table}/index/{WORK_INDEX}"),
            ],
        },
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": _arn("logs", f"log-group:/aws/lambda/{function_name(stage, name)}:*"),
        },
        {
            "Sid": "StageParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameters"],
            "Resource": [_arn("ssm", f"parameter/settlekit/{stage}/{p.name}") for p in PARAMETERS],
        },
        *kms_statements("WalletAddresses", "kms:GetPublicKey", wallet_specs(settings)),
        {
            "Sid": "Alerts",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Resource": {"Ref": ALERT_TOPIC},
        },
    ]
    if name in LANE_FUNCTIONS:
        statements += kms_statements("SignPayouts", "kms:Sign",
                                     lane_specs(settings)[LANE_FUNCTIONS[name]])
    return {"Version": "2012-10-17", "Statement": statements}


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical: resource
        for logical, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def handler_name(resource: dict[str, Any]) -> str:
    """`app.payout_engine_escrow` -> payout_engine_escrow; the API's `app.app` -> api_handler."""
    handler = resource["Properties"]["Handler"].split(".", 1)[1]
    return "api_handler" if handler == "app" else handler


def apply(template: dict[str, Any], stage: str, table: str) -> dict[str, Any]:
    """Chalice's SAM template -> the deployable one (a new dict; the input is not changed)."""
    out = copy.deepcopy(template)
    resources = out["Resources"]
    out.setdefault("Parameters", {}).update(copy.deepcopy(PARAMETERS_SECTION))
    out.setdefault("Conditions", {})["HasAlertEmail"] = {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]
    }
    resources.update(_alerting(stage))
    for logical, resource in _functions(out).items():
        name = handler_name(resource)
        props = resource["Properties"]
        props["FunctionName"] = function_name(stage, name)
        # The settings the function will run with (no secret is in them: those come from SSM).
        settings = load_settings({k: str(v) for k, v in props["Environment"]["Variables"].items()})
        props["Environment"]["Variables"]["ALERT_TOPIC_ARN"] = {"Ref": ALERT_TOPIC}
        log_group = f"{logical}LogGroup"
        resources[log_group] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": f"/aws/lambda/{function_name(stage, name)}",
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        }
        # Created before the function, so Lambda never creates it without a retention.
        resource["DependsOn"] = [log_group]
        role = props["Role"]["Fn::GetAtt"][0]
        resources[role]["Properties"]["Policies"] = [
            {
                "PolicyName": f"{logical}Policy",
                "PolicyDocument": role_policy(stage, table, name, settings),
            }
        ]
        for event in props.get("Events", {}).values():
            if event["Type"] == "Schedule":
                event["Properties"]["RetryPolicy"] = {
                    "MaximumRetryAttempts": 0,
                    "MaximumEventAgeInSeconds": SCHEDULE_MAX_EVENT_AGE_S,
                }
                props["EventInvokeConfig"] = {
                    "MaximumRetryAttempts": 0,
                    "MaximumEventAgeInSeconds": SCHEDULE_MAX_EVENT_AGE_S,
                }
    resources["RestAPI"]["Properties"]["MethodSettings"] = [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": {"Ref": "ApiThrottleRate"},
            "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurst"},
        }
    ]
    engines = {
        handler_name(r): lg for lg, r in _functions(out).items()
        if handler_name(r) in SIGNING_FUNCTIONS
    }
    resources.update(_alarms(stage, engines))
    out.setdefault("Outputs", {})["AlertTopicArn"] = {"Value": {"Ref": ALERT_TOPIC}}
    return out


def _alerting(stage: str) -> dict[str, Any]:
    return {
        ALERT_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": f"settlekit-{stage}-alerts", "DisplayName": "Settlekit"},
        },
        "AlertEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlertEmail",
            "Properties": {
                "TopicArn": {"Ref": ALERT_TOPIC},
                "Protocol": "email",
                "Endpoint": {"Ref": "AlertEmail"},
            },
        },
    }


def _alarm(description: str, metric: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            **metric,
            "Period": ALARM_PERIOD_S,
            "EvaluationPeriods": 1,
            "AlarmActions": [{"Ref": ALERT_TOPIC}],
            "OKActions": [{"Ref": ALERT_TOPIC}],
            **settings,
        },
    }


def _gauge(stage: str, name: str, statistic: str) -> dict[str, Any]:
    return {
        "Namespace": NAMESPACE,
        "MetricName": name,
        "Dimensions": [{"Name": DIMENSION, "Value": stage}],
        "Statistic": statistic,
    }


def _alarms(stage: str, engines: dict[str, str]) -> dict[str, Any]:
    errors = {
        f"{''.join(w.title() for w in name.split('_'))}ErrorsAlarm": _alarm(
            f"The payout engine's {name.rsplit('_', 1)[1]} lane failed (an exception or a timeout)",
            {
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": logical}}],
                "Statistic": "Sum",
            },
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            Threshold=1,
            TreatMissingData="notBreaching",
        )
        for name, logical in sorted(engines.items())
    }
    return {
        **errors,
        "OldestDuePayoutAlarm": _alarm(
            "A payout has waited too long to be confirmed (or the engine stopped reporting)",
            _gauge(stage, "OldestDuePayoutAgeSeconds", "Maximum"),
            ComparisonOperator="GreaterThanThreshold",
            Threshold={"Ref": "OldestDuePayoutMaxAgeSeconds"},
            # No figure means no engine run: that is an incident too.
            TreatMissingData="breaching",
        ),
        "HotWalletBalanceAlarm": _alarm(
            "The lowest native balance among the purposes' wallets is below the threshold",
            _gauge(stage, "HotWalletBalanceEth", "Minimum"),
            ComparisonOperator="LessThanThreshold",
            Threshold={"Ref": "HotWalletMinBalanceEth"},
            TreatMissingData="notBreaching",
        ),
        "PayoutsNeedAttentionAlarm": _alarm(
            "A payout is parked as needs_attention: a human must look",
            _gauge(stage, "PayoutsNeedingAttention", "Maximum"),
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            Threshold=1,
            TreatMissingData="notBreaching",
        ),
    }
