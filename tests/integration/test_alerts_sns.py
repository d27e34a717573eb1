"""Every alert goes to the SNS topic, once per incident (moto SNS on the local store server).

An SQS queue subscribed to the topic stands in for the operator's inbox: what arrives there is
what AWS would e-mail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.core import alerts
from chalicelib.core.log import alert
from chalicelib.core.runtime import Runtime
from tests.integration.payouts import ETH, new_address, request, stored, tick

pytestmark = pytest.mark.chain


@pytest.fixture
def inbox(store_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh topic wired into the service's env, and a function reading what it delivered."""
    sns = boto3.client("sns", region_name="us-east-1", endpoint_url=store_server)
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=store_server)
    topic = sns.create_topic(Name=f"alerts-{new_address()[2:10]}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"inbox-{new_address()[2:10]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("ALERT_TOPIC_ARN", topic)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", store_server)
    alerts.reset_clients()

    def read() -> list[dict[str, Any]]:
        got = []
        while True:
            batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return got
            for m in batch:
                envelope = json.loads(m["Body"])
                got.append({"subject": envelope["Subject"], **json.loads(envelope["Message"])})
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])

    yield read
    alerts.reset_clients()


def test_an_insolvent_hot_wallet_is_published_once_however_many_ticks_see_it(
    payout_rt: Runtime, inbox: Any
) -> None:
    rt = payout_rt
    pid = request(rt, "too-big-for-sns", "native", new_address(), 150 * ETH)["id"]
    for _ in range(3):
        assert tick(rt).get("waiting_for_funds") == 1
        rt.clock.advance(60_000)
    assert stored(rt, pid)["status"] == "requested"
    messages = inbox()
    assert [m["event"] for m in messages] == ["hot_wallet_insolvent"]
    assert messages[0]["subject"] == "settlekit local: hot_wallet_insolvent"
    assert rt.signer is not None and messages[0]["wallet"] == rt.signer.address
    assert inbox() == []  # and nothing more arrives later


def test_alert_fields_that_look_secret_are_masked_in_the_message(inbox: Any) -> None:
    alert("test_incident", payout_id="p-1", raw_tx="0xdeadbeef", api_key="k-123")
    [message] = inbox()
    assert message["payout_id"] == "p-1" and message["alert"] is True
    assert message["raw_tx"] == "***" and message["api_key"] == "***"


def test_a_failed_publish_leaves_the_flow_running(
    inbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:no-such-topic")
    assert alerts.publish("test_incident", {"event": "test_incident"}) is False
    alert("test_incident", payout_id="p-2")  # raises nothing
