"""Rate limits on the OTC actions that cost a chain lookup: per wallet and per client IP."""

from __future__ import annotations

from chalicelib.core import ratelimit
from chalicelib.core.ratelimit import Limit
from chalicelib.core.runtime import Runtime


def take(rt: Runtime, action: str, wallet: str, ip: str) -> None:
    """One unit of `action` for this wallet and this IP, or 429 with Retry-After."""
    s = rt.settings
    window = s.otc_rate_window_seconds
    limits = [
        Limit(f"otc:{action}:wallet", wallet.lower(), s.otc_wallet_rate_max, window),
        # IPs are stored hashed: the table holds no raw client addresses.
        Limit(f"otc:{action}:ip", ratelimit.subject_hash(ip), s.otc_ip_rate_max, window),
    ]
    ratelimit.take(rt.store, limits, rt.clock.now_ms())
