"""Store cost of one lease acquire + release, counted with the botocore request hook."""

from __future__ import annotations

import os

import boto3
from moto import mock_aws

from bench.counting import count_requests, split
from chalicelib.core.clock import Clock
from chalicelib.core.leases import acquire
from chalicelib.core.store import DynamoStore
from chalicelib.core.table import ensure_table


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(client, "bench")
        store = DynamoStore(client, "bench")
        with count_requests(client) as counts:
            lease = acquire(store, Clock(), "bench-job", 60_000)
            lease.release()
    writes, reads = split(counts)
    print(f"lease acquire+release: {sum(counts.values())} DynamoDB requests "
          f"({writes} writes, {reads} reads): {dict(counts)}")


if __name__ == "__main__":
    main()
