"""Key rotation settings: retiring wallets are configured, validated, never printed, and only
drain (the active wallet is never also a retiring one)."""

from __future__ import annotations

import secrets

import pytest
from eth_account import Account

from chalicelib.core.errors import SettingsError
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings


def key() -> str:
    return "0x" + secrets.token_hex(32)


def test_retiring_keys_are_parsed_deduplicated_and_hidden() -> None:
    active, old = key(), key()
    settings = load_settings({
        "SIGNER_PRIVATE_KEY": active,
        "RETIRING_SIGNER_PRIVATE_KEYS": f"{old}, {old},{active}",
    })
    assert old not in repr(settings) and active not in repr(settings)
    rt = Runtime(settings)
    assert rt.signer is not None
    assert rt.signer.address == Account.from_key(active).address
    assert [s.address for s in rt.retiring_signers] == [Account.from_key(old).address]
    assert [s.address for s in rt.signers] == [rt.signer.address, Account.from_key(old).address]
    assert rt.signer_for(Account.from_key(old).address.lower()) is rt.retiring_signers[0]
    assert rt.signer_for("0x" + "00" * 20) is None


@pytest.mark.parametrize(
    "env",
    [
        {"RETIRING_SIGNER_PRIVATE_KEYS": "0x1234"},
        {"RETIRING_SIGNER_PRIVATE_KEYS": "vault=0x" + "ab" * 32},
        {"RETIRING_SIGNER_PRIVATE_KEYS": "escrow=0x1234"},
        {"RETIRING_SIGNERS": "vault:hot-wallet"},
        {"RETIRING_SIGNERS": "kms:alias/ok,nope"},
    ],
)
def test_malformed_retiring_settings_are_refused_without_echoing_them(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert all(value not in str(info.value) for value in env.values())


def test_retiring_kms_keys_are_specs() -> None:
    settings = load_settings({"RETIRING_SIGNERS": "kms:alias/settlekit-prod-hot, kms:abc-123"})
    assert settings.retiring_signers == ("kms:alias/settlekit-prod-hot", "kms:abc-123")


def test_retiring_keys_named_for_a_purpose_drain_in_its_lane_and_only_escrows_can_be_refunded(
) -> None:
    escrow_old, faucet_old, unnamed = key(), key(), key()
    settings = load_settings({
        "SIGNER_PRIVATE_KEY": key(),
        "RETIRING_SIGNER_PRIVATE_KEYS": f"escrow={escrow_old}, faucet={faucet_old},{unnamed}",
    })
    assert escrow_old not in repr(settings) and faucet_old not in repr(settings)
    rt = Runtime(settings)
    address = {k: Account.from_key(k).address for k in (escrow_old, faucet_old, unnamed)}
    lanes = {lane: [s.address for s in wallets] for lane, wallets in rt.retiring_by_lane.items()}
    assert lanes == {"escrow": [address[escrow_old]], "faucet": [address[faucet_old]],
                     "anchor": [address[unnamed]]}
    # A wallet named for the faucet never served escrow; an unnamed one may have (shared).
    assert [s.address for s in rt.retiring_of("escrow")] == [address[escrow_old], address[unnamed]]
    assert [s.address for s in rt.retiring_of("faucet")] == [address[faucet_old], address[unnamed]]
