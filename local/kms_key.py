"""`LOCAL_SIGNER=kms make dev`: each purpose's wallet is a KMS key on the local store server (moto).

The service then signs exactly as in AWS (ESCROW_SIGNER=kms:<alias>, ..., one `Sign` per
transaction, each purpose with its own key), with botocore pointed at the local server through
AWS_ENDPOINT_URL_KMS.
"""

from __future__ import annotations

import boto3

from chalicelib.core.settings import PURPOSE_SIGNER_SETTINGS, default_kms_alias
from chalicelib.core.signer import KMS_KEY_SPEC, KmsSigner


def create_purpose_keys(store_url: str) -> tuple[dict[str, str], dict[str, str]]:
    """One key per purpose -> (the service's environment for them, purpose -> wallet address)."""
    kms = boto3.client(
        "kms",
        endpoint_url=store_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    env = {"AWS_ENDPOINT_URL_KMS": store_url}
    wallets = {}
    for purpose, setting in PURPOSE_SIGNER_SETTINGS.items():
        alias = default_kms_alias("local", purpose)
        key_id = kms.create_key(KeySpec=KMS_KEY_SPEC, KeyUsage="SIGN_VERIFY")["KeyMetadata"][
            "KeyId"
        ]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        env[setting] = f"kms:{alias}"
        wallets[purpose] = KmsSigner(kms, alias).address
    return env, wallets
