"""Admin auth: absent when unconfigured, bearer token required, compared in constant time."""

from __future__ import annotations

import hmac

import pytest

from chalicelib.core import auth
from chalicelib.core.auth import require_admin
from chalicelib.core.errors import NotFound, Unauthorized

TOKEN = "admin-token-0123456789"


@pytest.mark.parametrize("configured", [None, ""])
def test_with_no_token_configured_the_admin_surface_does_not_exist(configured: str | None) -> None:
    with pytest.raises(NotFound) as info:
        require_admin(configured, {"authorization": f"Bearer {TOKEN}"})
    assert info.value.status == 404


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": ""},
        {"authorization": "Bearer"},
        {"authorization": "Bearer    "},
        {"authorization": f"Basic {TOKEN}"},
        {"authorization": TOKEN},
        {"x-admin-token": TOKEN},
    ],
)
def test_a_missing_bearer_token_is_unauthorized(headers: dict[str, str]) -> None:
    with pytest.raises(Unauthorized) as info:
        require_admin(TOKEN, headers)
    assert info.value.status == 401
    assert info.value.code == "admin_token_missing"


@pytest.mark.parametrize("given", ["wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper()])
def test_a_wrong_token_is_invalid(given: str) -> None:
    with pytest.raises(Unauthorized) as info:
        require_admin(TOKEN, {"authorization": f"Bearer {given}"})
    assert info.value.status == 401
    assert info.value.code == "admin_token_invalid"
    assert TOKEN not in info.value.message and given not in info.value.message


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": f"Bearer {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}"},
        {"authorization": f"bearer {TOKEN}"},
        {"authorization": f"BEARER {TOKEN}"},
        {"authorization": f"BeArEr   {TOKEN}  "},
    ],
)
def test_the_right_token_passes_with_a_case_insensitive_bearer_scheme(
    headers: dict[str, str],
) -> None:
    assert require_admin(TOKEN, headers) is None


def test_the_token_is_compared_with_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    require_admin(TOKEN, {"authorization": f"Bearer {TOKEN}"})
    with pytest.raises(Unauthorized):
        require_admin(TOKEN, {"authorization": "Bearer nope"})
    assert calls == [(TOKEN.encode(), TOKEN.encode()), (b"nope", TOKEN.encode())]
