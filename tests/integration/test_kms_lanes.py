"""Each purpose's wallet is a KMS key of its own (moto's KMS on the local store server), and each
payout lane signs only with its own purpose's key.

In AWS each lane is a Lambda whose role may `kms:Sign` with its purpose's key alone (the policy
`scripts/operations.role_policy` writes into the template). moto checks neither the resource nor
the condition of an IAM policy, so each lane's runtime here gets a KMS client that applies that
very policy document before passing the call to moto: a call the role's policy does not allow is
answered `AccessDeniedException`, as KMS answers it.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.core.clock import FixedClock
from chalicelib.core.outbox.intents import make_intent, request_payout
from chalicelib.core.outbox.jobs import run_lane
from chalicelib.core.outbox.model import BROADCAST, REQUESTED
from chalicelib.core.outbox.purposes import register_owner
from chalicelib.core.runtime import Runtime
from chalicelib.core.signer import KmsSigner, SignerUnavailable
from chalicelib.core.store import DynamoStore
from chalicelib.core.wallets import ESCROW, FAUCET, PURPOSES
from local import bootstrap
from scripts.operations import role_policy
from tests.integration.conftest import engine_settings
from tests.integration.payouts import ETH, deadline, new_address, stored, tx_on_chain

pytestmark = pytest.mark.chain

ESCROW_OWNER = "test_escrow_lane"
register_owner(ESCROW_OWNER, ESCROW)
FAUCET_OWNER = "test_faucet_lane"
register_owner(FAUCET_OWNER, FAUCET)


class LaneRole:
    """The moto KMS client as one function's role sees it: its policy decides, then moto."""

    def __init__(self, client: Any, policy: dict[str, Any]) -> None:
        self.client = client
        self.statements = policy["Statement"]
        self.signed_with: list[str] = []  # the key ids `Sign` was allowed on

    def _allowed(self, action: str, key_id: str) -> bool:
        key_id = self.client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"]
        aliases = {a["AliasName"] for a in self.client.list_aliases(KeyId=key_id)["Aliases"]}
        for stmt in self.statements:
            if action not in stmt["Action"]:
                continue
            named = stmt.get("Condition", {}).get("ForAnyValue:StringEquals", {})
            if aliases & set(named.get("kms:ResourceAliases", [])):
                return True
            resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else []
            if any(str(r.get("Fn::Sub", r) if isinstance(r, dict) else r).endswith(
                    f":key/{key_id}") for r in resources):
                return True
        return False

    def _check(self, action: str, key_id: str) -> None:
        if not self._allowed(action, key_id):
            error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
            raise ClientError(error, action.removeprefix("kms:"))

    def get_public_key(self, **kwargs: Any) -> Any:
        self._check("kms:GetPublicKey", kwargs["KeyId"])
        return self.client.get_public_key(**kwargs)

    def sign(self, **kwargs: Any) -> Any:
        self._check("kms:Sign", kwargs["KeyId"])
        self.signed_with.append(self.client.describe_key(KeyId=kwargs["KeyId"])["KeyMetadata"][
            "KeyId"])
        return self.client.sign(**kwargs)


@pytest.fixture
def lanes(
    w3: Any, chain_url: str, chain_snapshot: None, served_store: DynamoStore, store_server: str,
    token_address: str, engine_clock: FixedClock,
) -> dict[str, Any]:
    """Three KMS keys (one per purpose) and, per lane, a runtime with that lane's role."""
    kms = boto3.client("kms", region_name="us-east-1", endpoint_url=store_server)
    suffix = new_address()[2:10].lower()  # moto's KMS outlives a test: fresh aliases each time
    specs, key_ids = {}, {}
    for purpose in PURPOSES:
        key_ids[purpose] = kms.create_key(KeySpec="ECC_SECG_P256K1", KeyUsage="SIGN_VERIFY")[
            "KeyMetadata"]["KeyId"]
        alias = f"alias/settlekit-test-{suffix}-{purpose}"
        kms.create_alias(AliasName=alias, TargetKeyId=key_ids[purpose])
        specs[f"{purpose.upper()}_SIGNER"] = f"kms:{alias}"
    settings = engine_settings(chain_url, "", token_address, served_store.table, **specs)
    out: dict[str, Any] = {"key_ids": key_ids, "roles": {}}
    for purpose in PURPOSES:
        role = LaneRole(kms, role_policy("local", served_store.table,
                                         f"payout_engine_{purpose}", settings))
        out["roles"][purpose] = role
        out[purpose] = Runtime(settings, clock=engine_clock, dynamodb_client=served_store.client,
                               kms_client=role)
    for purpose in PURPOSES:
        address = out[ESCROW].wallets.address(purpose)
        bootstrap.fund_native(w3, address, 10 * ETH)
    return out


def request(rt: Runtime, key: str, owner: str, purpose: str) -> str:
    intent = make_intent(key, "native", new_address(), ETH // 10, owner, key, purpose=purpose)
    return str(request_payout(rt.store, intent, rt.clock.now_ms())[0]["id"])


def test_the_escrow_lane_signs_escrow_payouts_with_its_key_and_never_a_faucet_payout(
    lanes: dict[str, Any], w3: Any
) -> None:
    escrow_rt: Runtime = lanes[ESCROW]
    escrow_pid = request(escrow_rt, "kms-lane-escrow", ESCROW_OWNER, ESCROW)
    faucet_pid = request(escrow_rt, "kms-lane-faucet", FAUCET_OWNER, FAUCET)
    wallets = {p: escrow_rt.wallets.address(p) for p in PURPOSES}
    assert len(set(wallets.values())) == 3  # three KMS keys, three addresses

    run_lane(escrow_rt, deadline(escrow_rt), ESCROW)

    sent = stored(escrow_rt, escrow_pid)
    assert sent["status"] == BROADCAST
    assert tx_on_chain(w3, sent["tx_hash"])["from"] == wallets[ESCROW]
    role: LaneRole = lanes["roles"][ESCROW]
    assert role.signed_with == [lanes["key_ids"][ESCROW]]  # one Sign, with the escrow key
    untouched = stored(escrow_rt, faucet_pid)
    assert untouched["status"] == REQUESTED and untouched.get("nonce") is None

    # Its role could not sign the faucet payout even if the engine asked it to.
    faucet_key = KmsSigner(role, str(escrow_rt.settings.faucet_signer).removeprefix("kms:"))
    with pytest.raises(SignerUnavailable, match="AccessDeniedException"):
        faucet_key.sign_digest(b"\x01" * 32)

    # The faucet lane, with its own role, signs it with the faucet key.
    faucet_rt: Runtime = lanes[FAUCET]
    run_lane(faucet_rt, deadline(faucet_rt), FAUCET)
    paid = stored(faucet_rt, faucet_pid)
    assert paid["status"] == BROADCAST
    assert tx_on_chain(w3, paid["tx_hash"])["from"] == wallets[FAUCET]
    assert lanes["roles"][FAUCET].signed_with == [lanes["key_ids"][FAUCET]]
