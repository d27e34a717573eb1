"""POST one webhook: resolve, check the address, connect to that very address, no redirects.

Outside development a destination must be a public address: the host name is resolved here and
every address it resolves to is checked (private, loopback, link-local, multicast, reserved are
refused) before connecting, and the connection goes to the checked address (no second lookup a
DNS rebinding could change). TLS still verifies the certificate for the host name.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

CONNECT_TIMEOUT_S = 3.0
# A receiver should answer fast and process later; slow ones are retried, not waited for.
READ_TIMEOUT_S = 5.0
USER_AGENT = "Settlekit-Webhooks/1"


class DestinationRefused(Exception):
    """The URL is not allowed (scheme, or an address that is not public)."""


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended: an HTTP status, or an error (network, refused destination)."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def check_url(url: str, *, dev: bool) -> tuple[str, int, str, bool]:
    """(host, port, path, tls) of an allowed URL; DestinationRefused otherwise."""
    try:
        parts = urlsplit(url)
        port_given = parts.port  # ValueError for a port that is not 0-65535
    except ValueError:
        raise DestinationRefused("the URL is malformed") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DestinationRefused("the URL must be http(s)://host/...")
    if parts.scheme != "https" and not dev:
        raise DestinationRefused("the URL must use https")
    if parts.username or parts.password:
        raise DestinationRefused("the URL must not carry credentials")
    tls = parts.scheme == "https"
    port = port_given or (443 if tls else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, port, path, tls


def public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int, *, dev: bool) -> str:
    """The address to connect to: every address the name resolves to must be public (not dev)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"the host does not resolve: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise DestinationRefused("the host does not resolve")
    if not dev:
        private = [a for a in addresses if not public_address(a)]
        if private:
            raise DestinationRefused("the host resolves to a private or reserved address")
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=CONNECT_TIMEOUT_S)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), CONNECT_TIMEOUT_S)
        self.sock.settimeout(READ_TIMEOUT_S)


class _PinnedHTTPS(_PinnedHTTP):
    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, dev: bool) -> Outcome:
    """One attempt. Never follows a redirect (a 3xx is a failed attempt)."""
    try:
        host, port, path, tls = check_url(url, dev=dev)
        address = resolve(host, port, dev=dev)
    except DestinationRefused as exc:
        return Outcome(None, f"refused: {exc}")
    conn = (_PinnedHTTPS if tls else _PinnedHTTP)(host, port, address)
    try:
        conn.request("POST", path, body, {**headers, "User-Agent": USER_AGENT})
        resp = conn.getresponse()
        resp.read(4096)  # a receiver's answer is not kept; read a little so the socket closes
        return Outcome(resp.status)
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:200])
    finally:
        conn.close()
