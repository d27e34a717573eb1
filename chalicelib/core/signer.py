"""The hot wallet's signer: a local private key (`make dev`, tests) or an AWS KMS key (AWS stages).

The payout engine sees one small interface: `.address` and `sign_transaction(tx) -> (raw,
hash)`. Both signers produce a bare secp256k1 signature over a 32-byte digest; the shared code
here turns it into an EIP-1559 transaction or an EIP-712 signature. With KMS the key never
leaves AWS: we send the digest, KMS answers a DER signature, and we derive (r, s, v) ourselves:
s is folded into the lower half of the curve order (EIP-2 rejects the other half), and v is
the parity that recovers our own public key (KMS does not return it).

Imports eth_account/eth_keys at the top: only code paths that touch the chain import this module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from eth_account.messages import encode_typed_data
from eth_account.typed_transactions import TypedTransaction
from eth_keys import keys
from eth_keys.exceptions import BadSignature
from eth_utils import keccak

from chalicelib.core.errors import DependencyUnavailable, ServiceError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
# The only KMS key spec whose curve Ethereum uses, and its curve's OID (1.3.132.0.10) in DER.
KMS_KEY_SPEC = "ECC_SECG_P256K1"
KMS_SIGNING_ALGORITHM = "ECDSA_SHA_256"
SECP256K1_OID_DER = bytes.fromhex("06052b8104000a")


class SignerError(ServiceError):
    """The signer is misconfigured or answered something that is not a valid signature."""

    code = "signer_error"


class SignerUnavailable(DependencyUnavailable):
    """KMS could not be reached or refused the call (throttled, access denied, disabled key)."""

    code = "signer_unavailable"


class HotSigner(ABC):
    """A wallet that signs 32-byte digests; everything else is derived from that."""

    @property
    @abstractmethod
    def address(self) -> str:
        """The wallet's checksummed address."""

    @abstractmethod
    def sign_digest(self, digest: bytes) -> tuple[int, int, int]:
        """(v, r, s) over `digest`, with v in {0, 1} and s in the lower half of the order."""

    def sign_transaction(self, tx: Mapping[str, Any]) -> tuple[bytes, str]:
        """An EIP-1559 (type 2) transaction dict -> (raw signed bytes, 0x transaction hash)."""
        if int(tx.get("type", 0)) != 2:
            raise SignerError("only EIP-1559 (type 2) transactions are signed")
        unsigned = TypedTransaction.from_dict(dict(tx))
        v, r, s = self.sign_digest(unsigned.hash())
        signed = TypedTransaction.from_dict({**unsigned.as_dict(), "v": v, "r": r, "s": s})
        raw = bytes(signed.encode())
        return raw, "0x" + keccak(raw).hex()

    # The payout engine's historical name for sign_transaction.
    sign = sign_transaction

    def sign_typed_data(self, full_message: Mapping[str, Any]) -> str:
        """EIP-712: a `{types, primaryType, domain, message}` dict -> 0x + r|s|v (v 27/28)."""
        signable = encode_typed_data(full_message=dict(full_message))
        digest = keccak(b"\x19" + signable.version + signable.header + signable.body)
        v, r, s = self.sign_digest(digest)
        return "0x" + (r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v + 27])).hex()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address})"


class LocalKeySigner(HotSigner):
    """A private key held in memory (local stack and tests). Its value never leaves this object."""

    def __init__(self, private_key: str) -> None:
        self._key = keys.PrivateKey(bytes.fromhex(private_key.removeprefix("0x")))
        self._address = str(self._key.public_key.to_checksum_address())

    @property
    def address(self) -> str:
        return self._address

    def sign_digest(self, digest: bytes) -> tuple[int, int, int]:
        return normalize(self._key.sign_msg_hash(digest).vrs)


class KmsSigner(HotSigner):
    """An AWS KMS asymmetric key (spec ECC_SECG_P256K1): one `Sign` call per digest.

    The public key (hence the address) is fetched once per container with `GetPublicKey`; API
    functions may read it, only the payout engine's role may call `Sign`.
    """

    def __init__(self, kms_client: Any, key_id: str) -> None:
        self._kms = kms_client
        self.key_id = key_id

    @cached_property
    def public_key(self) -> keys.PublicKey:
        answer = self._call("GetPublicKey", self._kms.get_public_key, KeyId=self.key_id)
        spec = answer.get("KeySpec") or answer.get("CustomerMasterKeySpec")
        if spec != KMS_KEY_SPEC or answer.get("KeyUsage") != "SIGN_VERIFY":
            raise SignerError(
                f"KMS key {self.key_id} must be a SIGN_VERIFY key of spec {KMS_KEY_SPEC}",
                details={"key_spec": spec, "key_usage": answer.get("KeyUsage")},
            )
        return keys.PublicKey(public_key_from_spki(answer["PublicKey"]))

    @property
    def address(self) -> str:
        return str(self.public_key.to_checksum_address())

    def sign_digest(self, digest: bytes) -> tuple[int, int, int]:
        if len(digest) != 32:
            raise SignerError("a digest is 32 bytes")
        answer = self._call(
            "Sign",
            self._kms.sign,
            KeyId=self.key_id,
            Message=digest,
            MessageType="DIGEST",
            SigningAlgorithm=KMS_SIGNING_ALGORITHM,
        )
        r, s = signature_from_der(answer["Signature"])
        return with_recovery_id(digest, r, s, self.public_key)

    def _call(self, name: str, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            raise SignerUnavailable(
                f"KMS {name} failed ({code}) for key {self.key_id}", details={"kms_error": code}
            ) from exc
        except BotoCoreError as exc:
            raise SignerUnavailable(f"KMS {name} failed: KMS cannot be reached") from exc


# -- signature arithmetic ----------------------------------------------------------------------


def normalize(vrs: tuple[int, int, int]) -> tuple[int, int, int]:
    """Fold s into the lower half of the order (EIP-2); (r, n-s) recovers with the other v."""
    v, r, s = vrs
    if s > SECP256K1_N // 2:
        return 1 - v, r, SECP256K1_N - s
    return v, r, s


def with_recovery_id(
    digest: bytes, r: int, s: int, public_key: keys.PublicKey
) -> tuple[int, int, int]:
    """(v, r, low s) such that the signature recovers `public_key`; raise if none does."""
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise SignerError("KMS returned a signature out of range")
    if s > SECP256K1_N // 2:
        s = SECP256K1_N - s
    for v in (0, 1):
        try:
            recovered = keys.Signature(vrs=(v, r, s)).recover_public_key_from_msg_hash(digest)
        except BadSignature:
            continue
        if recovered == public_key:
            return v, r, s
    raise SignerError("the KMS signature does not recover to the key's own public key")


def _der_read(data: bytes, pos: int, tag: int) -> tuple[bytes, int]:
    """One DER TLV of the expected tag at `pos` -> (value, position after it)."""
    if pos + 2 > len(data) or data[pos] != tag:
        raise SignerError("malformed DER from KMS")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:  # long form: the next (length & 0x7f) bytes hold the length
        count = length & 0x7F
        if count == 0 or count > 2 or pos + count > len(data):
            raise SignerError("malformed DER from KMS")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise SignerError("malformed DER from KMS")
    return data[pos : pos + length], pos + length


def signature_from_der(der: bytes) -> tuple[int, int]:
    """ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } -> (r, s)."""
    body, end = _der_read(der, 0, 0x30)
    if end != len(der):
        raise SignerError("malformed DER from KMS")
    r, pos = _der_read(body, 0, 0x02)
    s, pos = _der_read(body, pos, 0x02)
    if pos != len(body):
        raise SignerError("malformed DER from KMS")
    return int.from_bytes(r, "big"), int.from_bytes(s, "big")


def public_key_from_spki(der: bytes) -> bytes:
    """SubjectPublicKeyInfo of a secp256k1 key -> the 64 bytes X|Y of its uncompressed point."""
    body, _ = _der_read(der, 0, 0x30)
    algorithm, pos = _der_read(body, 0, 0x30)
    bits, _ = _der_read(body, pos, 0x03)
    if SECP256K1_OID_DER not in algorithm:
        raise SignerError("the KMS key is not on the secp256k1 curve")
    # BIT STRING: one byte of unused bits (0), then 0x04 | X | Y.
    if len(bits) != 66 or bits[0] != 0 or bits[1] != 0x04:
        raise SignerError("the KMS public key is not an uncompressed secp256k1 point")
    return bits[2:]


# -- construction ------------------------------------------------------------------------------


def build_signer(spec: str, private_key: str | None, kms_client: Any = None) -> HotSigner:
    """`kms:<key id, alias or ARN>` -> KmsSigner; `key` -> LocalKeySigner(private_key)."""
    if spec.startswith("kms:"):
        if kms_client is None:
            raise SignerError("a KMS signer needs a KMS client")
        return KmsSigner(kms_client, spec.removeprefix("kms:"))
    if spec == "key" and private_key:
        return LocalKeySigner(private_key)
    raise SignerError("SIGNER must be kms:<key id or alias> or key (with SIGNER_PRIVATE_KEY)")
