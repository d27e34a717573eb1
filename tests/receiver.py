"""A real webhook receiver on 127.0.0.1 for the tests: verifies signatures, de-duplicates by id.

It can be taken down and brought back on the same port, to play an integrator's outage.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.core.webhooks import signature


class Receiver:
    def __init__(self, secret: str = "", status: int = 200) -> None:
        self.secret = secret
        self.status = status
        self.requests: list[dict[str, Any]] = []  # every POST, duplicates included
        self.unique: dict[str, dict[str, Any]] = {}  # event id -> payload (what a receiver keeps)
        self.bad_signatures = 0
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                header = self.headers.get(signature.HEADER, "")
                stamp = int(header.split(",")[0].removeprefix("t=") or 0)
                # The tests' clock is fixed: judge freshness against the sender's own stamp.
                ok = signature.verify(receiver.secret, header, body, now=stamp)
                payload = json.loads(body)
                receiver.requests.append({"payload": payload, "headers": dict(self.headers),
                                          "verified": ok, "at": time.time()})
                if not ok:
                    receiver.bad_signatures += 1
                else:
                    receiver.unique.setdefault(payload["id"], payload)
                self.send_response(receiver.status if ok else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def types(self) -> list[str]:
        return [r["payload"]["type"] for r in self.requests if r["verified"]]
