"""A DynamoDB-compatible server (moto) on loopback that handles one request at a time.

moto is not thread-safe: two concurrent conditional writes can both pass their condition. This
server accepts connections concurrently but serializes request handling behind one lock, so
conditional writes and transactions are atomic under concurrent clients, as in DynamoDB.
Transactions go through `local.moto_transactions`, so their cost does not grow with the table.

It is served by waitress rather than moto's own werkzeug development server, which closes the
connection after every answer: each request then cost the client a new TCP connection and the
server a new thread, about a quarter of a small request's CPU time (`docs/local-stack.md`).
waitress keeps connections alive and answers from a fixed pool of threads.

Run it with `python -m local.store_server --port 8001`.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from waitress.server import create_server

from local import moto_kms, moto_transactions

HOST = "127.0.0.1"
# The table lives in this process's heap: at 20,000 codes a full garbage collection walks a
# million objects (0.3 s, under the lock, so every waiting request waits too). Every this many
# requests, the young garbage is collected and what survived is frozen out of later collections.
FREEZE_EVERY = 200
# Requests wait for the lock anyway: a few threads keep the next ones parsed and ready. Tests
# open a hundred and more connections at once (bursts, pools of 64), all kept alive.
THREADS = 4
CONNECTION_LIMIT = 1000
# An idle kept-alive connection is closed after this long. The clients' pools keep connections
# for reuse without a limit: a server closing one just as a client reuses it would fail that
# request (a write is then unresolved), so idle ones are kept for an hour, not waitress's 2 min.
IDLE_TIMEOUT_S = 3600


class SerializedApp:
    """WSGI wrapper: the whole request, body included, is produced under one lock."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.handled = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
                self.handled += 1
                if self.handled % FREEZE_EVERY == 0:
                    # Stored items hold no reference cycles: what outlives a request is kept
                    # data, which the cycle collector need never walk again.
                    gc.collect(1)
                    gc.freeze()


def serve(port: int, ready: Callable[[int], None] | None = None) -> None:
    moto_transactions.install()
    # The same server answers KMS for the local hot key (make dev with SIGNER=kms).
    moto_kms.install()
    app = SerializedApp(DomainDispatcherApplication(create_backend_app))
    server = create_server(
        app, host=HOST, port=port, threads=THREADS, connection_limit=CONNECTION_LIMIT,
        channel_timeout=IDLE_TIMEOUT_S,
        asyncore_use_poll=True,  # select() fails past file descriptor 1024
        ident="settlekit-store",
    )
    # Requests queued behind the lock are normal here, not worth a warning each.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    if ready:
        ready(server.effective_port)
    server.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()

    def ready(port: int) -> None:
        # The parent process reads this line to learn the port.
        print(f"store listening on http://{HOST}:{port}", flush=True)

    try:
        serve(args.port, ready)
    except OSError as exc:
        print(f"store: cannot listen on {HOST}:{args.port}: {exc.strerror}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
