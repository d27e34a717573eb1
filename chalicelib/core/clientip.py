"""Which client a request comes from, for per-IP limits.

API Gateway's `requestContext.identity.sourceIp` is the address that connected to it, and the
only one a client cannot forge. `X-Forwarded-For` is read only when TRUST_PROXY_HEADERS says how
many proxies we control sit in front and append to it: the client is then the address the
outermost of them saw, N entries from the right. Entries further left are whatever the client
sent, so they are never used.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping

UNKNOWN = "unknown"
# One IPv6 user usually holds a whole /64: limit per /64, or a new address per request is free.
IPV6_PREFIX = 64


def _parse(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(source_ip: str | None, headers: Mapping[str, str], trusted_proxies: int) -> str:
    if trusted_proxies > 0:
        forwarded = headers.get("x-forwarded-for") or headers.get("X-Forwarded-For") or ""
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= trusted_proxies:
            found = _parse(hops[-trusted_proxies])
            if found:
                return found
    return _parse(source_ip) or UNKNOWN


def ip_subject(ip: str) -> str:
    """The key a client's limits are stored under: its /64 for IPv6, hashed (no raw IPs stored)."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        text = UNKNOWN
    else:
        if parsed.version == 6:
            text = str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False))
        else:
            text = str(parsed)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
