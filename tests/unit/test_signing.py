"""EIP-712 signed actions: typed data, verification, tampering, deadlines, replay.

Helpers here (the node's well-known keys, `signed_body`) are shared by the bounty tests.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import chalicelib.bounties.actions  # noqa: F401 - registers the bounty actions
from chalicelib.core import signing
from chalicelib.core.errors import ServiceError
from chalicelib.core.settings import Settings, load_settings
from chalicelib.core.store import DynamoStore, TransactionFailed
from tests.conftest import START_MS

ROOT = Path(__file__).resolve().parents[2]

# The hardhat node's well-known development accounts #0..#4 (public test keys, hold nothing real).
KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
]
ADDRESSES = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
]
BOUNTY = "bty_000000000000aaaaaaaa"
SECP256K1_N = signing.SECP256K1_N


def signed_body(
    settings: Settings,
    action: str,
    body: dict[str, Any],
    key: str,
    *,
    now_ms: int = START_MS,
    path_value: str | None = None,
    deadline: int | None = None,
) -> dict[str, Any]:
    """What a client sends: the body, a deadline and its EIP-712 signature."""
    act = signing.get_action(action)
    out = {**body, "deadline": deadline if deadline is not None else now_ms // 1000 + 300}
    message: dict[str, Any] = {}
    if act.path_field:
        message[act.path_field] = path_value
    for f in act.fields:
        message[f.name] = out.get(f.name, f.default)
    message["deadline"] = out["deadline"]
    return {**out, "signature": signing.sign(settings, act, message, key)}


def settings(**env: str) -> Settings:
    return load_settings({"TABLE_NAME": "settlekit-test", **env})


SAMPLE_BODIES: dict[str, dict[str, Any]] = {
    "create_bounty": {
        "poster": ADDRESSES[0],
        "title": "Write the docs",
        "description": "All of them",
        "reward": "2",
        "asset": "native",
        "max_winners": 2,
        "expires_at": "2026-10-01T00:00:00Z",
        "tags": ["docs", "writing"],
    },
    "submit_solution": {
        "submitter": ADDRESSES[1],
        "message": "done",
        "content_url": "https://example.com/pr/1",
    },
    "accept_submission": {"poster": ADDRESSES[0], "submission_id": "sub_000000000000bbbbbbbb"},
    "record_payment": {
        "poster": ADDRESSES[0],
        "submission_id": "sub_000000000000bbbbbbbb",
        "tx_hash": "0x" + "ab" * 32,
    },
    "cancel_bounty": {"poster": ADDRESSES[0]},
}
SIGNER_KEY = {"submit_solution": KEYS[1]}


def sample(action: str, s: Settings | None = None) -> dict[str, Any]:
    s = s or settings()
    path = BOUNTY if signing.get_action(action).path_field else None
    return signed_body(
        s, action, SAMPLE_BODIES[action], SIGNER_KEY.get(action, KEYS[0]), path_value=path
    )


def verify(body: dict[str, Any], action: str, *, now_ms: int = START_MS,
           path: str | None = BOUNTY, s: Settings | None = None) -> signing.SignedAction:
    act = signing.get_action(action)
    return signing.verify(
        s or settings(), now_ms, act, body, path if act.path_field else None
    )


def error_of(fn: Any, *args: Any, **kwargs: Any) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn(*args, **kwargs)
    return info.value


def tampered(value: Any) -> Any:
    """A different value of the same JSON type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, list):
        return [*value, "extra"] if value else ["extra"]
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return ADDRESSES[4]
    return value + "x"


ALL_FIELDS = [
    (action, name)
    for action, body in SAMPLE_BODIES.items()
    for name in [*body, "deadline"]
]


# -- typed data ----------------------------------------------------------------------------


def test_typed_data_lists_every_bounty_action_with_domain_bound_to_chain_and_version() -> None:
    salt = "0x" + "5a" * 32
    s = settings(CHAIN_ID="5", SIGNING_VERSION="2", DEPLOYMENT_SALT=salt)
    catalogue = signing.catalogue(s)
    names = {a["name"] for a in catalogue["actions"]}
    assert set(SAMPLE_BODIES) <= names
    assert catalogue["domain"] == {"name": "Settlekit", "version": "2", "chainId": 5, "salt": salt}


def test_typed_data_of_create_binds_every_field_plus_the_deadline() -> None:
    td = signing.typed_data(settings(), "create_bounty")
    assert td["primaryType"] == "CreateBounty"
    members = [m["name"] for m in td["types"]["CreateBounty"]]
    assert members == [
        "poster", "title", "description", "reward", "asset", "max_winners", "expires_at",
        "tags", "deadline",
    ]
    assert td["types"]["EIP712Domain"] == signing.DOMAIN_TYPES
    assert td["path_field"] is None and td["signer_field"] == "poster"


def test_typed_data_of_an_action_on_a_bounty_signs_the_bounty_id_from_the_path() -> None:
    td = signing.typed_data(settings(), "accept_submission")
    assert td["types"]["AcceptSubmission"][0] == {"name": "bounty_id", "type": "string"}
    assert td["path_field"] == "bounty_id"


def test_an_unknown_action_is_a_404() -> None:
    assert error_of(signing.typed_data, settings(), "steal_funds").code == "unknown_action"


def test_registering_an_action_twice_differently_is_refused() -> None:
    with pytest.raises(ValueError):
        signing.register(signing.Action("create_bounty", "Other", "poster",
                                        (signing.Field("poster", "address"),)))


# -- verify ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", sorted(SAMPLE_BODIES))
def test_a_correctly_signed_request_verifies_to_its_signer(action: str) -> None:
    signed = verify(sample(action), action)
    assert signed.signer == (ADDRESSES[1] if action == "submit_solution" else ADDRESSES[0])
    assert signed.digest.startswith("0x") and len(signed.digest) == 66


@pytest.mark.parametrize(("action", "name"), ALL_FIELDS)
def test_tampering_with_any_signed_field_is_refused(action: str, name: str) -> None:
    body = sample(action)
    body[name] = tampered(body[name])
    err = error_of(verify, body, action)
    # A tampered deadline may also be past/too far; any other field recovers another wallet.
    assert (err.status, err.code) == (403, "signer_mismatch"), err.code


def test_tampering_with_max_winners_is_refused() -> None:
    body = sample("create_bounty")
    body["max_winners"] = 1000
    assert error_of(verify, body, "create_bounty").code == "signer_mismatch"


@pytest.mark.parametrize("action", [a for a in SAMPLE_BODIES if a != "create_bounty"])
def test_a_signature_for_one_bounty_does_not_work_on_another(action: str) -> None:
    err = error_of(verify, sample(action), action, path="bty_000000000000cccccccc")
    assert err.code == "signer_mismatch"


def test_omitting_an_optional_field_means_its_default_was_signed() -> None:
    body = signed_body(settings(), "create_bounty",
                       {**SAMPLE_BODIES["create_bounty"], "max_winners": 1, "tags": []}, KEYS[0])
    del body["max_winners"], body["tags"]
    signed = verify(body, "create_bounty")
    assert signed.message["max_winners"] == 1 and signed.message["tags"] == []


def test_a_signature_from_another_chain_or_version_is_refused() -> None:
    for other in (settings(CHAIN_ID="1"), settings(SIGNING_VERSION="2")):
        body = signed_body(other, "cancel_bounty", SAMPLE_BODIES["cancel_bounty"], KEYS[0],
                           path_value=BOUNTY)
        assert error_of(verify, body, "cancel_bounty").code == "signer_mismatch"


def test_signed_by_someone_else_than_the_named_wallet_is_signer_mismatch() -> None:
    body = signed_body(settings(), "cancel_bounty", SAMPLE_BODIES["cancel_bounty"], KEYS[3],
                       path_value=BOUNTY)
    err = error_of(verify, body, "cancel_bounty")
    assert (err.status, err.code) == (403, "signer_mismatch")


@pytest.mark.parametrize(
    "signature",
    [None, 5, "", "0x", "0x1234", "ab" * 65, "0x" + "zz" * 65, "0x" + "ab" * 64, "0x" + "ab" * 66],
)
def test_a_malformed_signature_is_400_invalid_signature(signature: Any) -> None:
    body = {**sample("cancel_bounty"), "signature": signature}
    err = error_of(verify, body, "cancel_bounty")
    assert (err.status, err.code) == (400, "invalid_signature")


def test_a_signature_with_a_bad_v_is_invalid() -> None:
    body = sample("cancel_bounty")
    body["signature"] = body["signature"][:-2] + "05"
    assert error_of(verify, body, "cancel_bounty").code == "invalid_signature"


def test_the_malleable_high_s_twin_of_a_signature_is_refused() -> None:
    body = sample("cancel_bounty")
    raw = bytes.fromhex(body["signature"][2:])
    s = int.from_bytes(raw[32:64], "big")
    twin = raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - raw[64]])
    err = error_of(verify, {**body, "signature": "0x" + twin.hex()}, "cancel_bounty")
    assert (err.status, err.code) == (400, "invalid_signature")


def test_a_signature_that_recovers_no_wallet_is_invalid() -> None:
    # r = 5 is not the x coordinate of any point on the curve.
    bad = "0x" + "00" * 31 + "05" + "00" * 31 + "01" + "1b"
    body = {**sample("cancel_bounty"), "signature": bad}
    assert error_of(verify, body, "cancel_bounty").code == "invalid_signature"


def test_the_deadline_is_valid_up_to_and_including_its_second() -> None:
    body = sample("cancel_bounty")
    deadline_ms = body["deadline"] * 1000
    assert verify(body, "cancel_bounty", now_ms=deadline_ms).signer == ADDRESSES[0]
    err = error_of(verify, body, "cancel_bounty", now_ms=deadline_ms + 1)
    assert (err.status, err.code) == (401, "signature_expired")


def test_a_deadline_more_than_ten_minutes_ahead_is_refused() -> None:
    now_s = START_MS // 1000
    ok = signed_body(settings(), "cancel_bounty", SAMPLE_BODIES["cancel_bounty"], KEYS[0],
                     path_value=BOUNTY, deadline=now_s + 600)
    assert verify(ok, "cancel_bounty").signer == ADDRESSES[0]
    far = signed_body(settings(), "cancel_bounty", SAMPLE_BODIES["cancel_bounty"], KEYS[0],
                      path_value=BOUNTY, deadline=now_s + 601)
    err = error_of(verify, far, "cancel_bounty")
    assert (err.status, err.code) == (401, "signature_expired")


@pytest.mark.parametrize(
    "deadline", [None, " 123", "0123", "0x7b", "1e3", "123\n", "١٢٣", 1.5, True, -1, 0, 2**64]
)
def test_a_malformed_deadline_is_a_400(deadline: Any) -> None:
    body = {**sample("cancel_bounty"), "deadline": deadline}
    if deadline is None:
        del body["deadline"]
    err = error_of(verify, body, "cancel_bounty")
    assert (err.status, err.code) == (400, "invalid_deadline")


def test_an_unknown_body_field_is_refused_because_it_would_not_be_signed() -> None:
    body = {**sample("cancel_bounty"), "reason": "changed my mind"}
    err = error_of(verify, body, "cancel_bounty")
    assert (err.status, err.code) == (400, "unknown_field")


def test_a_missing_required_field_is_a_400() -> None:
    body = sample("accept_submission")
    del body["submission_id"]
    err = error_of(verify, body, "accept_submission")
    assert (err.status, err.code) == (400, "missing_field")


@pytest.mark.parametrize(
    ("action", "name", "value"),
    [
        ("create_bounty", "max_winners", "two"),
        ("create_bounty", "max_winners", True),
        ("create_bounty", "max_winners", -1),
        ("create_bounty", "tags", "docs"),
        ("create_bounty", "tags", [1]),
        ("create_bounty", "title", 5),
        ("create_bounty", "poster", "0x1234"),
        ("create_bounty", "title", "\ud800"),
        ("create_bounty", "tags", ["ok", "\udfff"]),
    ],
)
def test_a_field_of_the_wrong_type_is_a_400_not_a_500(action: str, name: str, value: Any) -> None:
    body = {**sample(action), name: value}
    err = error_of(verify, body, action)
    assert err.status == 400


# -- replay guard ----------------------------------------------------------------------------


def test_a_used_signature_cannot_be_used_again(moto_store: DynamoStore) -> None:
    signed = verify(sample("cancel_bounty"), "cancel_bounty")
    signing.ensure_unused(moto_store, signed)
    moto_store.transact([signing.replay_guard_op(signed, START_MS, ref=BOUNTY)])
    err = error_of(signing.ensure_unused, moto_store, signed)
    assert (err.status, err.code) == (409, "signature_replayed")
    assert err.details == {"action": "cancel_bounty", "ref": BOUNTY}
    with pytest.raises(TransactionFailed) as info:
        moto_store.transact([signing.replay_guard_op(signed, START_MS + 1)])
    err = error_of(signing.raise_if_replayed, info.value)
    assert err.code == "signature_replayed"


def test_the_replay_guard_is_keyed_by_what_was_signed_not_by_the_signature_bytes() -> None:
    # Two requests with identical content share a digest, whatever bytes carry the signature.
    a = verify(sample("cancel_bounty"), "cancel_bounty")
    b = verify(copy.deepcopy(sample("cancel_bounty")), "cancel_bounty")
    assert a.digest == b.digest
    assert signing.replay_guard_op(a, 0).body["Item"]["pk"] == {"S": f"sig#{a.digest}"}


def test_the_replay_guard_is_garbage_collected_only_after_its_deadline() -> None:
    signed = verify(sample("cancel_bounty"), "cancel_bounty")
    item = signing.replay_guard_op(signed, START_MS).body["Item"]
    assert int(item["gc_at"]["N"]) > signed.deadline


# -- cold start (rule 12) ----------------------------------------------------------------------

TYPED_DATA_ONLY = textwrap.dedent(
    """
    import json, sys
    from chalice.test import Client
    import app
    from chalicelib.core.runtime import Runtime, set_runtime
    from chalicelib.core.settings import load_settings

    set_runtime(Runtime(load_settings({"TABLE_NAME": "t"})))
    with Client(app.app) as c:
        listed = c.http.get("/v1/typed-data").status_code
        one = c.http.get("/v1/typed-data/create_bounty").status_code
    loaded = sorted(m for m in ("web3", "eth_account") if m in sys.modules)
    print(json.dumps({"status": [listed, one], "loaded": loaded}))
    """
)


def test_serving_typed_data_imports_neither_web3_nor_eth_account() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CHAIN_RPC_URL"}
    proc = subprocess.run(
        [sys.executable, "-c", TYPED_DATA_ONLY], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "status": [200, 200], "loaded": []
    }


def test_the_local_signing_helper_makes_bodies_the_api_accepts() -> None:
    import time

    from local import sign as cli

    s = settings()
    td = json.loads(json.dumps(signing.typed_data(s, "create_bounty")))  # as served over HTTP
    body = {k: v for k, v in SAMPLE_BODIES["create_bounty"].items() if k != "tags"}
    out = cli.signed_body(td, body, KEYS[0], None, ttl=300)
    assert "tags" not in out and set(out) == {*body, "deadline", "signature"}
    assert verify(out, "create_bounty", now_ms=int(time.time() * 1000)).signer == ADDRESSES[0]
    td = json.loads(json.dumps(signing.typed_data(s, "accept_submission")))
    out = cli.signed_body(td, SAMPLE_BODIES["accept_submission"], KEYS[0], BOUNTY, ttl=300)
    assert "bounty_id" not in out
    assert verify(out, "accept_submission", now_ms=int(time.time() * 1000)).signer == ADDRESSES[0]


def test_the_local_signing_helper_can_send_uints_as_strings_and_binds_the_salt() -> None:
    import time

    from local import sign as cli

    s = settings(DEPLOYMENT_SALT="0x" + "cd" * 32)
    td = json.loads(json.dumps(signing.typed_data(s, "create_bounty")))
    out = cli.signed_body(td, SAMPLE_BODIES["create_bounty"], KEYS[0], None, 300, uint_strings=True)
    assert isinstance(out["deadline"], str) and out["max_winners"] == "2"
    now_ms = int(time.time() * 1000)
    assert verify(out, "create_bounty", now_ms=now_ms, s=s).signer == ADDRESSES[0]
    err = error_of(verify, out, "create_bounty", now_ms=now_ms, s=settings())
    assert err.code == "signer_mismatch"


# -- deployment binding and uint256 as text ------------------------------------------------


def test_a_signature_for_deployment_a_is_refused_by_deployment_b_on_the_same_chain() -> None:
    staging = settings(DEPLOYMENT_SALT="0x" + "aa" * 32)
    production = settings(DEPLOYMENT_SALT="0x" + "bb" * 32)
    body = sample("cancel_bounty", staging)
    assert verify(body, "cancel_bounty", s=staging).signer == ADDRESSES[0]
    err = error_of(verify, body, "cancel_bounty", s=production)
    assert (err.status, err.code) == (403, "signer_mismatch")


def test_without_a_configured_salt_each_stage_and_table_gets_its_own() -> None:
    staging = load_settings({"STAGE": "staging"})
    production = load_settings({"STAGE": "prod"})
    other_table = load_settings({"STAGE": "prod", "TABLE_NAME": "another"})
    salts = {staging.deployment_salt, production.deployment_salt, other_table.deployment_salt}
    assert len(salts) == 3
    assert load_settings({"STAGE": "prod"}).deployment_salt == production.deployment_salt


@pytest.mark.parametrize("salt", ["0x1234", "aa" * 32, "0x" + "zz" * 32])
def test_a_malformed_deployment_salt_is_refused_naming_the_variable(salt: str) -> None:
    from chalicelib.core.errors import SettingsError

    with pytest.raises(SettingsError, match="DEPLOYMENT_SALT"):
        settings(DEPLOYMENT_SALT=salt)


def test_uint256_fields_and_the_deadline_are_accepted_as_decimal_strings() -> None:
    body = sample("create_bounty")
    as_text = {**body, "max_winners": str(body["max_winners"]), "deadline": str(body["deadline"])}
    signed = verify(as_text, "create_bounty")
    assert signed.signer == ADDRESSES[0]
    assert signed.message["max_winners"] == body["max_winners"]
    assert signed.deadline == body["deadline"]


@pytest.mark.parametrize("value", ["-1", "1.0", "0x2", " 2", "2 ", "", "02", str(2**256)])
def test_a_uint256_string_that_is_not_a_plain_decimal_is_a_400(value: str) -> None:
    body = {**sample("create_bounty"), "max_winners": value}
    err = error_of(verify, body, "create_bounty")
    assert (err.status, err.code) == (400, "invalid_field")
