"""Custody settings: which signer a stage uses, and the alert topic."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import SettingsError
from chalicelib.core.settings import load_settings

KEY = "0x" + "ab" * 32
TOPIC = "arn:aws:sns:eu-west-1:123456789012:settlekit-prod-alerts"


@pytest.mark.parametrize(
    ("env", "signer"),
    [
        ({}, None),  # local, no key: no hot wallet
        ({"SIGNER_PRIVATE_KEY": KEY}, "key"),  # make dev and the tests
        ({"STAGE": "prod"}, None),  # AWS stages: a KMS key per purpose, no shared wallet
        ({"STAGE": "dev", "SIGNER": "kms:1234abcd-12ab-34cd-56ef-1234567890ab"},
         "kms:1234abcd-12ab-34cd-56ef-1234567890ab"),
        ({"SIGNER": "kms:arn:aws:kms:eu-west-1:123456789012:key/abc"},
         "kms:arn:aws:kms:eu-west-1:123456789012:key/abc"),
        ({"STAGE": "prod", "SIGNER": "key", "SIGNER_PRIVATE_KEY": KEY}, "key"),
    ],
)
def test_the_signer_spec_per_stage(env: dict[str, str], signer: str | None) -> None:
    assert load_settings(env).signer == signer


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SIGNER": "hsm:thing"}, "SIGNER must be kms:"),
        ({"SIGNER": "kms:"}, "SIGNER must be kms:"),
        ({"SIGNER": "key"}, "SIGNER=key needs SIGNER_PRIVATE_KEY"),
        ({"ESCROW_SIGNER": "key"}, "ESCROW_SIGNER must be kms:"),
        ({"FAUCET_SIGNER": "kms:"}, "FAUCET_SIGNER must be kms:"),
        ({"ANCHOR_SIGNER": "kms:alias/a", "ANCHOR_PRIVATE_KEY": KEY},
         "set ANCHOR_SIGNER or ANCHOR_PRIVATE_KEY, not both"),
        ({"RETIRING_SIGNERS": "vault=kms:alias/old"}, "RETIRING_SIGNERS must be"),
        ({"ALERT_TOPIC_ARN": "alerts"}, "ALERT_TOPIC_ARN must be an SNS topic ARN"),
        ({"PAYOUT_SIGNING": "maybe"}, "PAYOUT_SIGNING must be true or false"),
    ],
)
def test_bad_custody_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(env)


def test_alert_topic_and_signing_switch_are_read() -> None:
    s = load_settings({"ALERT_TOPIC_ARN": TOPIC, "PAYOUT_SIGNING": "false"})
    assert s.alert_topic_arn == TOPIC and s.payout_signing is False
    assert load_settings({}).payout_signing is True


def test_aws_stages_give_each_purpose_its_own_kms_alias_by_default() -> None:
    s = load_settings({"STAGE": "prod"})
    assert (s.escrow_signer, s.faucet_signer, s.anchor_signer) == (
        "kms:alias/settlekit-prod-escrow",
        "kms:alias/settlekit-prod-faucet",
        "kms:alias/settlekit-prod-anchor",
    )
    local = load_settings({})
    assert (local.escrow_signer, local.faucet_signer, local.anchor_signer) == (None, None, None)


def test_an_explicit_shared_wallet_pays_for_the_purposes_without_their_own_key() -> None:
    s = load_settings({"STAGE": "prod", "SIGNER": "kms:alias/settlekit-prod-hot",
                       "ESCROW_SIGNER": "kms:alias/settlekit-prod-escrow"})
    assert s.signer == "kms:alias/settlekit-prod-hot"
    assert (s.escrow_signer, s.faucet_signer, s.anchor_signer) == (
        "kms:alias/settlekit-prod-escrow", None, None)


def test_retiring_kms_keys_may_name_the_lane_that_drains_them() -> None:
    s = load_settings({"RETIRING_SIGNERS": "escrow=kms:alias/settlekit-prod-escrow-1,kms:abc"})
    assert s.retiring_signers == ("escrow=kms:alias/settlekit-prod-escrow-1", "kms:abc")
