"""moto's KMS `Sign` with `MessageType=DIGEST`, as AWS does it: sign the digest, do not hash it.

moto 5.2 reads MessageType and ignores it: it signs SHA-256 of the digest again, so a
signature over an Ethereum digest recovers to a random address (getmoto/moto#10202, open). The
local stack and the tests install this fix; nothing deployed imports it. Only secp256k1/P-256
keys with ECDSA_SHA_256 are affected (the hot wallet's); every other request goes to moto as is.
"""

from __future__ import annotations

import base64
import json
from typing import Any

DIGEST_BYTES = 32
_installed = False


def install() -> None:
    """Patch moto's KMS response handler once per process (idempotent)."""
    global _installed
    if _installed:
        return
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    from moto.kms.exceptions import ValidationException
    from moto.kms.responses import KmsResponse

    moto_sign = KmsResponse.sign

    def sign(self: Any) -> str:
        # moto validates the key (exists, enabled, SIGN_VERIFY, algorithm) and resolves aliases.
        answer = json.loads(moto_sign(self))
        if self._get_param("MessageType") != "DIGEST":
            return json.dumps(answer)
        key = self.kms_backend.describe_key(answer["KeyId"])
        private = getattr(key.private_key, "private_key", None)
        if answer["SigningAlgorithm"] != "ECDSA_SHA_256" or not isinstance(
            private, ec.EllipticCurvePrivateKey
        ):
            return json.dumps(answer)
        digest = self._get_param("Message")  # moto has already base64-decoded it
        if len(digest) != DIGEST_BYTES:
            raise ValidationException("Digest is invalid length for algorithm ECDSA_SHA_256.")
        signature = private.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        answer["Signature"] = base64.b64encode(signature).decode()
        return json.dumps(answer)

    KmsResponse.sign = sign  # type: ignore[method-assign]
    _installed = True
