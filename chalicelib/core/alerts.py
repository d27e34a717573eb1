"""Alerts to a human: every alert log line is also published to the SNS topic, when one is set.

`ALERT_TOPIC_ARN` (the template sets it to the stack's `alerts` topic) turns publishing on;
without it alerts stay log lines (local stack, tests). Callers raise an alert once per incident
(on the transition that won its conditional write), so one incident is one message. A failed
publish never breaks the flow that raised it: the alert's log line stays, and is logged as not
delivered (the `alert` metric filter alarm still sees it).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

# SNS subjects are at most 100 characters.
SUBJECT_MAX = 100
SNS_CONNECT_TIMEOUT_S = 2
SNS_READ_TIMEOUT_S = 3

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def topic_arn() -> str | None:
    return (os.environ.get("ALERT_TOPIC_ARN") or "").strip() or None


def publish(event: str, record: dict[str, Any]) -> bool:
    """Publish one alert (already masked) to the topic; True if it was sent."""
    arn = topic_arn()
    if arn is None:
        return False
    from botocore.exceptions import BotoCoreError, ClientError

    stage = os.environ.get("STAGE", "local")
    try:
        _client(arn).publish(
            TopicArn=arn,
            Subject=f"settlekit {stage}: {event}"[:SUBJECT_MAX],
            Message=json.dumps(record, default=str, sort_keys=True, indent=2),
            MessageAttributes={"event": {"DataType": "String", "StringValue": event}},
        )
    except (ClientError, BotoCoreError) as exc:
        from chalicelib.core.log import log

        log("alert_not_published", event_name=event, error=type(exc).__name__)
        return False
    return True


def _client(arn: str) -> Any:
    region = arn.split(":")[3]
    with _lock:
        client = _clients.get(region)
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.session.Session().client(
                "sns",
                region_name=region,
                config=Config(
                    connect_timeout=SNS_CONNECT_TIMEOUT_S,
                    read_timeout=SNS_READ_TIMEOUT_S,
                    retries={"max_attempts": 2, "mode": "standard"},
                ),
            )
            _clients[region] = client
        return client


def reset_clients() -> None:
    """Forget built clients (tests that point SNS at another endpoint)."""
    with _lock:
        _clients.clear()
