"""The local parts a bench runs against: the serialized store server and a hardhat node.

    with store_and_chain() as (store_url, rpc_url):
        ...

and a chain node that hangs (`hung_node`), for the RPC time budget.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from local import processes


@contextmanager
def store_and_chain() -> Iterator[tuple[str, str]]:
    """Both started on free loopback ports, stopped when the block ends (whatever happens)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    store_child, store_url = processes.start_store(processes.free_port())
    try:
        chain_child, rpc_url = processes.start_chain(processes.free_port())
        try:
            yield store_url, rpc_url
        finally:
            chain_child.stop()
    finally:
        store_child.stop()


@contextmanager
def hung_node() -> Iterator[str]:
    """The URL of a local socket that accepts every connection and never answers a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()
