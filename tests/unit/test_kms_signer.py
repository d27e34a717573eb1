"""The KMS signer against moto's KMS: address, (r, s, v) from DER, EIP-1559 and EIP-712."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

from chalicelib.core.signer import (
    SECP256K1_N,
    KmsSigner,
    LocalKeySigner,
    SignerError,
    SignerUnavailable,
    build_signer,
    signature_from_der,
    with_recovery_id,
)
from local import moto_kms
from tests.conftest import moto_client_of

DIGESTS = 1_000


class RecordingKms:
    """Delegates to a real (moto) KMS client and keeps what `Sign` answered."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.signatures: list[bytes] = []

    def get_public_key(self, **kwargs: Any) -> Any:
        return self.client.get_public_key(**kwargs)

    def sign(self, **kwargs: Any) -> Any:
        answer = self.client.sign(**kwargs)
        self.signatures.append(answer["Signature"])
        return answer


@pytest.fixture
def kms() -> Iterator[Any]:
    from moto import mock_aws

    moto_kms.install()
    with mock_aws():
        yield moto_client_of("kms")


def new_key(kms: Any, spec: str = "ECC_SECG_P256K1", alias: str = "alias/hot") -> str:
    key_id = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return str(key_id)


def address_by_cryptography(kms: Any, key_id: str) -> str:
    """The address computed independently: cryptography parses the key, keccak hashes X|Y."""
    der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    point = serialization.load_der_public_key(der).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return str(to_checksum_address(keccak(point[1:])[-20:]))


def eip1559(nonce: int = 0) -> dict[str, Any]:
    return {
        "type": 2,
        "chainId": 31337,
        "nonce": nonce,
        "to": to_checksum_address("0x" + "22" * 20),
        "value": 10**18,
        "data": "0x",
        "gas": 21_000,
        "maxFeePerGas": 3 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }


def test_address_is_derived_from_the_kms_public_key(kms: Any) -> None:
    key_id = new_key(kms)
    expected = address_by_cryptography(kms, key_id)
    assert KmsSigner(kms, key_id).address == expected
    assert KmsSigner(kms, "alias/hot").address == expected  # an alias names the same key


def test_a_thousand_random_digests_recover_to_the_kms_address(kms: Any) -> None:
    key_id = new_key(kms)
    recording = RecordingKms(kms)
    signer = KmsSigner(recording, key_id)
    address = signer.address
    parities = set()
    for _ in range(DIGESTS):
        digest = secrets.token_bytes(32)
        v, r, s = signer.sign_digest(digest)
        assert v in (0, 1) and 0 < s <= SECP256K1_N // 2
        recovered = keys.Signature(vrs=(v, r, s)).recover_public_key_from_msg_hash(digest)
        assert recovered.to_checksum_address() == address
        parities.add(v)
    assert len(recording.signatures) == DIGESTS  # one Sign call per digest
    raw_high = sum(signature_from_der(d)[1] > SECP256K1_N // 2 for d in recording.signatures)
    # KMS answers either half of s; both happened, and both parities of v were recovered.
    assert 0 < raw_high < DIGESTS
    assert parities == {0, 1}


def test_a_high_s_signature_is_folded_to_low_s_with_the_other_parity() -> None:
    key = keys.PrivateKey(secrets.token_bytes(32))
    for _ in range(20):
        digest = secrets.token_bytes(32)
        v, r, s = key.sign_msg_hash(digest).vrs
        assert s <= SECP256K1_N // 2
        # The malleable twin (r, n - s) is what KMS may answer; we must give back the low form.
        assert with_recovery_id(digest, r, SECP256K1_N - s, key.public_key) == (v, r, s)
        assert with_recovery_id(digest, r, s, key.public_key) == (v, r, s)


def test_a_signature_by_another_key_is_refused() -> None:
    key, other = keys.PrivateKey(secrets.token_bytes(32)), keys.PrivateKey(secrets.token_bytes(32))
    digest = secrets.token_bytes(32)
    _, r, s = other.sign_msg_hash(digest).vrs
    with pytest.raises(SignerError):
        with_recovery_id(digest, r, s, key.public_key)


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"\x30\x03\x02\x01",
        bytes.fromhex("3006020101020101ff"),  # trailing byte
        bytes.fromhex("3006020100020101"),  # r = 0
    ],
)
def test_malformed_or_out_of_range_der_is_refused(der: bytes) -> None:
    key = keys.PrivateKey(secrets.token_bytes(32))
    with pytest.raises(SignerError):
        r, s = signature_from_der(der)
        with_recovery_id(b"\x01" * 32, r, s, key.public_key)


def test_an_eip1559_transaction_signed_through_kms_recovers_to_its_address(kms: Any) -> None:
    recording = RecordingKms(kms)
    signer = KmsSigner(recording, new_key(kms))
    for nonce in range(5):
        raw, tx_hash = signer.sign_transaction(eip1559(nonce))
        assert raw[0] == 2  # EIP-2718 type byte of an EIP-1559 transaction
        assert Account.recover_transaction(raw) == signer.address
        assert tx_hash == "0x" + keccak(raw).hex()
    assert len(recording.signatures) == 5  # one Sign per transaction attempt


def test_the_local_key_signer_produces_exactly_eth_accounts_bytes() -> None:
    key = "0x" + secrets.token_hex(32)
    signer = LocalKeySigner(key)
    raw, tx_hash = signer.sign_transaction(eip1559(7))
    reference = Account.sign_transaction(eip1559(7), key)
    assert raw == bytes(reference.raw_transaction)
    assert tx_hash == "0x" + bytes(reference.hash).hex()
    assert signer.address == Account.from_key(key).address


def test_eip712_typed_data_signed_through_kms_recovers_to_its_address(kms: Any) -> None:
    signer = KmsSigner(kms, new_key(kms))
    message = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "Receipt": [
                {"name": "payout", "type": "string"},
                {"name": "amount", "type": "uint256"},
            ],
        },
        "primaryType": "Receipt",
        "domain": {"name": "Settlekit", "chainId": 31337},
        "message": {"payout": "p-1", "amount": 5},
    }
    signature = signer.sign_typed_data(message)
    raw = bytes.fromhex(signature[2:])
    assert len(raw) == 65 and raw[64] in (27, 28)
    assert int.from_bytes(raw[32:64], "big") <= SECP256K1_N // 2
    recovered = Account.recover_message(encode_typed_data(full_message=message), signature=raw)
    assert recovered == signer.address


def test_a_key_of_another_curve_is_refused_by_name(kms: Any) -> None:
    key_id = new_key(kms, spec="ECC_NIST_P256", alias="alias/wrong")
    with pytest.raises(SignerError, match="ECC_SECG_P256K1"):
        _ = KmsSigner(kms, key_id).address


def test_an_unknown_key_is_reported_as_unavailable_naming_the_kms_error(kms: Any) -> None:
    signer = KmsSigner(kms, "alias/no-such-key")
    with pytest.raises(SignerUnavailable) as err:
        signer.sign_transaction(eip1559())
    assert err.value.status == 503
    assert err.value.details == {"kms_error": "NotFoundException"}


def test_signer_spec_picks_kms_or_the_local_key(kms: Any) -> None:
    key_id = new_key(kms)
    assert isinstance(build_signer(f"kms:{key_id}", None, kms), KmsSigner)
    assert isinstance(build_signer("key", "0x" + "ab" * 32, None), LocalKeySigner)
    with pytest.raises(SignerError):
        build_signer("key", None, None)


def test_the_runtime_builds_a_kms_signer_from_settings(kms: Any) -> None:
    from chalicelib.core.runtime import Runtime
    from chalicelib.core.settings import load_settings

    settings = load_settings({"STAGE": "prod"})
    # Production defaults to a KMS key per purpose, each under the stage's alias for it.
    keys = {}
    for purpose in ("escrow", "faucet", "anchor"):
        keys[purpose] = new_key(kms, alias=f"alias/settlekit-prod-{purpose}")
        assert getattr(settings, f"{purpose}_signer") == f"kms:alias/settlekit-prod-{purpose}"
    rt = Runtime(settings, kms_client=kms)
    assert rt.signer is None  # no shared wallet
    for purpose, key_id in keys.items():
        wallet = rt.wallet(purpose)
        assert isinstance(wallet, KmsSigner)
        assert wallet.address == address_by_cryptography(kms, key_id)
    assert "AWS_ENDPOINT_URL_KMS" not in os.environ
