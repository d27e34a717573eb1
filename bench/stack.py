"""The local parts a bench runs against: the serialized store server and a hardhat node.

    with store_and_chain() as (store_url, rpc_url):
        ...
"""

from __future__ import annotations

import os
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
