"""Settings: defaults, validation messages that name the variable, and secrets never shown."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import SettingsError
from chalicelib.core.settings import Settings, load_settings

KEY = "ab" * 32
ADMIN = "s3cret-admin-token-xyz"


def test_defaults_load_from_an_empty_mapping() -> None:
    s = load_settings({})
    assert s == Settings()
    assert s.stage == "local" and s.table_name == "settlekit-local"
    assert s.chain_id == 31337 and s.confirmations == 2
    assert s.chain_rpc_url is None and not s.chain_enabled
    assert s.signer_private_key is None and s.admin_token is None and not s.admin_enabled
    assert s.token_address is None and s.token_decimals == 18


def test_valid_values_are_parsed() -> None:
    s = load_settings({
        "STAGE": "prod",
        "CHAIN_RPC_URL": "https://rpc.example",
        "CHAIN_ID": "8453",
        "CONFIRMATIONS": "12",
        "TOKEN_ADDRESS": "0x" + "1" * 40,
        "SIGNER_PRIVATE_KEY": "0x" + KEY,
        "ADMIN_TOKEN": ADMIN,
    })
    assert s.table_name == "settlekit-prod"
    assert s.chain_id == 8453 and s.confirmations == 12 and s.chain_enabled
    assert s.admin_enabled


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONFIRMATIONS", "x"),
        ("CONFIRMATIONS", "-1"),
        ("CHAIN_ID", "0"),
        ("CHAIN_ID", "1.5"),
        ("TOKEN_ADDRESS", "0x12"),
        ("TOKEN_ADDRESS", "0x" + "g" * 40),
        ("CHAIN_RPC_URL", "ftp://x"),
        ("DYNAMODB_ENDPOINT_URL", "localhost:8000"),
        ("SIGNER_PRIVATE_KEY", "short"),
        ("SIGNER_PRIVATE_KEY", "zz" * 32),
        ("ADMIN_TOKEN", "short"),
        ("RPC_TIMEOUT_SECONDS", "nan"),
        ("STAGE", "Prod!"),
    ],
)
def test_a_bad_value_raises_an_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value})
    assert name in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SIGNER_PRIVATE_KEY", "deadbeefcafe"),
        ("SIGNER_PRIVATE_KEY", "0x" + "ab" * 31 + "zz"),
        ("SIGNER_PRIVATE_KEY", "0x" + "ab" * 33),
        ("ADMIN_TOKEN", "hunter2pass"),
    ],
)
def test_the_message_for_a_bad_secret_never_contains_the_value(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value})
    message = str(info.value)
    assert name in message
    assert value not in message
    assert value.removeprefix("0x")[:8] not in message


def test_repr_hides_the_signer_key_and_the_admin_token() -> None:
    s = load_settings({"SIGNER_PRIVATE_KEY": KEY, "ADMIN_TOKEN": ADMIN})
    assert s.signer_private_key == KEY and s.admin_token == ADMIN
    for text in (repr(s), str(s), f"{s}", repr([s])):
        assert KEY not in text and KEY[:16] not in text
        assert ADMIN not in text
        assert "signer_private_key='***'" in text and "admin_token='***'" in text
