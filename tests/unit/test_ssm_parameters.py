"""Secrets from SSM Parameter Store (moto): named by stage, cached per container, clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.core import parameters
from chalicelib.core.errors import SettingsError
from chalicelib.core.runtime import get_runtime, set_runtime
from tests.conftest import moto_client_of

ADMIN = "admin-token-from-ssm-0123456789"
RPC = "https://eth.example/v2/provider-key-abcdef"
ENV = {"STAGE": "prod", "SECRETS_FROM": "ssm", "AWS_REGION": "us-east-1"}


@pytest.fixture
def ssm() -> Iterator[Any]:
    from moto import mock_aws

    parameters.clear_cache()
    with mock_aws():
        yield moto_client_of("ssm")
    parameters.clear_cache()


def put(ssm: Any, name: str, value: str, kind: str = "SecureString") -> None:
    ssm.put_parameter(Name=f"/settlekit/prod/{name}", Value=value, Type=kind, Overwrite=True)


def calls(ssm: Any) -> list[str]:
    seen: list[str] = []
    ssm.meta.events.register(
        "before-call.ssm.GetParameters", lambda **kw: seen.append(kw["model"].name)
    )
    return seen


def test_the_stage_parameters_become_settings(ssm: Any) -> None:
    put(ssm, "admin-token", ADMIN)
    put(ssm, "rpc-url", RPC)
    put(ssm, "token-address", "0x" + "1" * 40, kind="String")
    s = parameters.load(ENV, ssm)
    assert s.admin_token == ADMIN and s.chain_rpc_url == RPC
    assert s.token_address == "0x" + "1" * 40
    assert ADMIN not in repr(s)


def test_a_missing_parameter_fails_naming_it(ssm: Any) -> None:
    put(ssm, "admin-token", ADMIN)
    with pytest.raises(SettingsError, match="/settlekit/prod/rpc-url is missing"):
        parameters.load(ENV, ssm)


def test_another_stage_reads_its_own_names(ssm: Any) -> None:
    put(ssm, "admin-token", ADMIN)
    put(ssm, "rpc-url", RPC)
    with pytest.raises(SettingsError, match="/settlekit/dev/admin-token is missing"):
        parameters.load({**ENV, "STAGE": "dev"}, ssm)


@pytest.mark.parametrize(
    ("name", "value", "kind", "expected"),
    [
        ("rpc-url", "wss://eth.example/secret-key", "SecureString", "/settlekit/prod/rpc-url: "),
        ("admin-token", "short-secret", "SecureString", "/settlekit/prod/admin-token: "),
        ("admin-token", ADMIN, "String", "/settlekit/prod/admin-token must be a SecureString"),
        ("token-address", "0x1234", "String", "/settlekit/prod/token-address: "),
    ],
)
def test_a_malformed_parameter_fails_naming_it_without_its_value(
    ssm: Any, name: str, value: str, kind: str, expected: str
) -> None:
    put(ssm, "admin-token", ADMIN)
    put(ssm, "rpc-url", RPC)
    put(ssm, name, value, kind)
    with pytest.raises(SettingsError) as err:
        parameters.load(ENV, ssm)
    assert expected in str(err.value)
    assert value not in str(err.value)


def test_parameters_are_read_once_per_container(ssm: Any) -> None:
    put(ssm, "admin-token", ADMIN)
    put(ssm, "rpc-url", RPC)
    seen = calls(ssm)
    first = parameters.load(ENV, ssm)
    put(ssm, "admin-token", "a-rotated-admin-token-9876543210")
    second = parameters.load(ENV, ssm)
    assert seen == ["GetParameters"]  # one call for all parameters, then the cache
    assert second.admin_token == first.admin_token == ADMIN
    parameters.clear_cache()  # a new container reads the rotated value
    assert parameters.load(ENV, ssm).admin_token == "a-rotated-admin-token-9876543210"


def test_without_secrets_from_ssm_nothing_is_read(ssm: Any) -> None:
    seen = calls(ssm)
    s = parameters.load({"STAGE": "local", "ADMIN_TOKEN": ADMIN}, ssm)
    assert s.admin_token == ADMIN and seen == []


def test_the_runtime_loads_its_settings_through_ssm(
    ssm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(ssm, "admin-token", ADMIN)
    put(ssm, "rpc-url", RPC)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    set_runtime(None)
    try:
        rt = get_runtime()
        assert rt.settings.admin_token == ADMIN and rt.settings.chain_rpc_url == RPC
        assert rt.settings.escrow_signer == "kms:alias/settlekit-prod-escrow"
    finally:
        set_runtime(None)
