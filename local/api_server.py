"""`chalice local` with a listen backlog that takes bursts (local only).

chalice's development server is a `ThreadingMixIn` + `HTTPServer` with socketserver's default
listen backlog of 5: a burst of 50 simultaneous connections (a page loading its modules, a load
test, two terminals of curl loops) gets connection resets before any thread can accept them.
This runs the very same `chalice local` command with a deeper backlog; the kernel still caps it
at `net.core.somaxconn`.

    python -m local.api_server --host 127.0.0.1 --port 8000 --stage local --no-autoreload
"""

from __future__ import annotations

import sys

# Enough for every connection a local burst opens at once (the tests send 50).
LISTEN_BACKLOG = 256


def main(argv: list[str] | None = None) -> int:
    from chalice import local as chalice_local
    from chalice.cli import main as chalice_main

    chalice_local.ThreadedHTTPServer.request_queue_size = LISTEN_BACKLOG
    sys.argv = ["chalice", "local", *(sys.argv[1:] if argv is None else argv)]
    return int(chalice_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
