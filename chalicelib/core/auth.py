"""Admin authentication: one bearer token from settings, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from chalicelib.core.errors import NotFound, Unauthorized


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    value = headers.get("authorization") or headers.get("Authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_admin(configured: str | None, headers: Mapping[str, str]) -> None:
    """Pass if the request carries the admin token.

    With no token configured the admin surface does not exist at all (404), so an unconfigured
    deployment cannot be administered by anyone.
    """
    if not configured:
        raise NotFound("no such route", code="not_found")
    given = bearer_token(headers)
    if given is None:
        raise Unauthorized("admin token required", code="admin_token_missing")
    if not hmac.compare_digest(given.encode(), configured.encode()):
        raise Unauthorized("admin token is not valid", code="admin_token_invalid")
