"""`LOCAL_SIGNER=kms make dev`: the hot wallet is a KMS key on the local store server (moto).

The service then signs exactly as in AWS (SIGNER=kms:<alias>, one `Sign` per transaction), with
botocore pointed at the local server through AWS_ENDPOINT_URL_KMS.
"""

from __future__ import annotations

import boto3

from chalicelib.core.signer import KMS_KEY_SPEC, KmsSigner

ALIAS = "alias/settlekit-local-hot"


def create_hot_key(store_url: str) -> tuple[dict[str, str], str]:
    """Create the key -> (the service's environment for it, the wallet address)."""
    kms = boto3.client(
        "kms",
        endpoint_url=store_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    key_id = kms.create_key(KeySpec=KMS_KEY_SPEC, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)
    env = {"SIGNER": f"kms:{ALIAS}", "AWS_ENDPOINT_URL_KMS": store_url}
    return env, KmsSigner(kms, ALIAS).address
