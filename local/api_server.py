"""`chalice local` with a listen backlog that takes bursts (local only).

chalice's development server is a `ThreadingMixIn` + `HTTPServer` with socketserver's default
listen backlog of 5: a burst of 50 simultaneous connections (a page loading its modules, a load
test, two terminals of curl loops) gets connection resets before any thread can accept them.
This runs the very same `chalice local` command with a deeper backlog; the kernel still caps it
at `net.core.somaxconn`.

    python -m local.api_server --host 127.0.0.1 --port 8000 --stage local --no-autoreload
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler

# Enough for every connection a local burst opens at once (the tests send 50).
LISTEN_BACKLOG = 256


def _method_not_allowed(handler: BaseHTTPRequestHandler) -> None:
    """A method no route can have (TRACE, CONNECT, QUERY, ...): the API's error shape, 405.

    chalice's handler only knows the methods routes can have; the standard library answers any
    other with a 501 HTML page (a server error to a client). API Gateway refuses them too.
    """
    body = json.dumps(
        {
            "error": "method_not_allowed",
            "message": f"{handler.command} is not supported",
            "details": {"method": handler.command},
        }
    ).encode()
    handler.send_response(405)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Allow", "GET, POST, OPTIONS")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def main(argv: list[str] | None = None) -> int:
    from chalice import local as chalice_local
    from chalice.cli import main as chalice_main

    chalice_local.ThreadedHTTPServer.request_queue_size = LISTEN_BACKLOG
    # The standard library looks up `do_<METHOD>`; every method chalice has no handler for
    # lands here instead of on its 501 page.
    def unknown_method(self: BaseHTTPRequestHandler, name: str) -> object:
        if name.startswith("do_"):
            return lambda: _method_not_allowed(self)
        raise AttributeError(name)

    chalice_local.ChaliceRequestHandler.__getattr__ = unknown_method  # type: ignore[attr-defined]
    sys.argv = ["chalice", "local", *(sys.argv[1:] if argv is None else argv)]
    return int(chalice_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
