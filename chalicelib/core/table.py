"""The one table definition: used by the local bootstrap, the tests and the deploy template.

Single-table design. Every item has generic keys `pk`/`sk`. The sparse global secondary index
`work` is keyed by `wpk`/`wsk`: an item carries those two attributes only while some job (or an
admin listing) has something to do with it, so a job's query cost grows with the work that is due,
not with the size of the table. `gc_at` (epoch seconds) is the TTL attribute, used for garbage only.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

WORK_INDEX = "work"
TTL_ATTRIBUTE = "gc_at"

KEY_SCHEMA = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]
ATTRIBUTE_DEFINITIONS = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
    {"AttributeName": "wpk", "AttributeType": "S"},
    {"AttributeName": "wsk", "AttributeType": "S"},
]
GLOBAL_SECONDARY_INDEXES = [
    {
        "IndexName": WORK_INDEX,
        "KeySchema": [
            {"AttributeName": "wpk", "KeyType": "HASH"},
            {"AttributeName": "wsk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
]


def create_table_kwargs(table_name: str) -> dict[str, Any]:
    """Arguments for `CreateTable` (boto3 client)."""
    return {
        "TableName": table_name,
        "KeySchema": KEY_SCHEMA,
        "AttributeDefinitions": ATTRIBUTE_DEFINITIONS,
        "GlobalSecondaryIndexes": GLOBAL_SECONDARY_INDEXES,
        "BillingMode": "PAY_PER_REQUEST",
    }


def cloudformation_resource(table_name: str) -> dict[str, Any]:
    """The same table as an `AWS::DynamoDB::Table` resource for the deploy template."""
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            **create_table_kwargs(table_name),
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    }


def ensure_table(client: Any, table_name: str, *, wait_seconds: float = 30.0) -> bool:
    """Create the table if it does not exist; safe to call twice or from two processes.

    Returns True when this call created it. Either way, on return the table is ACTIVE with TTL
    and point-in-time recovery switched on.
    """
    created = False
    try:
        client.create_table(**create_table_kwargs(table_name))
        created = True
    except ClientError as exc:
        # Someone else (another process, an earlier run) created it: that is the goal anyway.
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    deadline = time.monotonic() + wait_seconds
    while client.describe_table(TableName=table_name)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {table_name} did not become ACTIVE")
        time.sleep(0.2)
    if not _ttl_enabled(client, table_name):
        try:
            client.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            )
        except ClientError as exc:
            # A concurrent bootstrap may have enabled it between our read and our write.
            if exc.response["Error"]["Code"] != "ValidationException" or not _ttl_enabled(
                client, table_name
            ):
                raise
    client.update_continuous_backups(
        TableName=table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    return created


def _ttl_enabled(client: Any, table_name: str) -> bool:
    ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    return ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
