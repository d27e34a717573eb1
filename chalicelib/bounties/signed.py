"""Who may act on a bounty: the signed-request checks every transition starts with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.errors import Forbidden
from chalicelib.core.runtime import Runtime
from chalicelib.core.signing import Action, SignedAction, ensure_unused, verify
from chalicelib.core.store import Item


class NotPoster(Forbidden):
    """A valid signature, but not by the bounty's poster (403)."""

    code = "not_poster"


def verify_request(
    rt: Runtime, action: Action, body: Mapping[str, Any], bounty_id: str | None = None
) -> SignedAction:
    """Verify the signature (400/401/403) and refuse a used one early (409); changes nothing."""
    signed = verify(rt.settings, rt.clock.now_ms(), action, body, bounty_id)
    ensure_unused(rt.store, signed)
    return signed


def require_poster(bounty: Item, signed: SignedAction) -> None:
    if signed.signer != bounty["poster"]:
        raise NotPoster(
            "only the bounty's poster may do this",
            details={"poster": bounty["poster"], "signer": signed.signer},
        )
