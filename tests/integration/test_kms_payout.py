"""A payout signed by a KMS key (moto's KMS on the local store server) is mined on the node.

This is the `make dev` setup with `SIGNER=kms`: the same moto server answers DynamoDB and KMS,
the engine signs through `Sign`, and the chain sees the KMS key's address as the sender.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from chalicelib.core.clock import FixedClock
from chalicelib.core.runtime import Runtime
from chalicelib.core.signer import KmsSigner
from chalicelib.core.store import DynamoStore
from local import bootstrap
from tests.integration.conftest import HOT_NATIVE, engine_settings
from tests.integration.payouts import (
    ETH,
    balance,
    mine,
    new_address,
    request,
    stored,
    tick,
    tx_on_chain,
)

pytestmark = pytest.mark.chain


class CountingKms:
    """The real (moto server) client, counting `Sign` calls."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.signs = 0

    def get_public_key(self, **kwargs: Any) -> Any:
        return self.client.get_public_key(**kwargs)

    def sign(self, **kwargs: Any) -> Any:
        self.signs += 1
        return self.client.sign(**kwargs)


@pytest.fixture
def kms_rt(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore, store_server: str,
    token_address: str, engine_clock: FixedClock,
) -> Runtime:
    kms = boto3.client("kms", region_name="us-east-1", endpoint_url=store_server)
    key_id = kms.create_key(KeySpec="ECC_SECG_P256K1", KeyUsage="SIGN_VERIFY")["KeyMetadata"][
        "KeyId"
    ]
    settings = engine_settings(
        chain_url, "", token_address, served_store.table, SIGNER=f"kms:{key_id}"
    )
    rt = Runtime(
        settings,
        clock=engine_clock,
        dynamodb_client=served_store.client,
        kms_client=CountingKms(kms),
    )
    assert rt.signer is not None
    bootstrap.fund_native(w3, rt.signer.address, HOT_NATIVE)
    return rt


def test_a_kms_signed_payout_is_mined_with_the_kms_address_as_sender(
    kms_rt: Runtime, w3: Any
) -> None:
    rt = kms_rt
    assert isinstance(rt.signer, KmsSigner)
    kms = rt.signer._kms
    to = new_address()
    before = balance(w3, "native", to)
    payout = request(rt, "kms-native-1", "native", to, ETH // 2)

    summary = tick(rt)
    assert summary["requested->signed"] == 1 and summary["signed->broadcast"] == 1
    assert kms.signs == 1  # one Sign per transaction attempt
    sent = stored(rt, payout["id"])
    tx = tx_on_chain(w3, sent["tx_hash"])
    assert tx["from"] == rt.signer.address and tx["type"] == 2

    mine(w3, 3)
    tick(rt)
    assert stored(rt, payout["id"])["status"] == "confirmed"
    receipt = w3.eth.get_transaction_receipt(sent["tx_hash"])
    assert receipt["status"] == 1 and receipt["from"] == rt.signer.address
    assert balance(w3, "native", to) - before == ETH // 2
    assert kms.signs == 1  # confirming signs nothing
