"""Concurrent posters on the serialized store server: seqs stay unique, gapless and increasing."""

from __future__ import annotations

import threading
from typing import Any

from chalicelib.anchoring.messages import post_message
from chalicelib.anchoring.model import COUNTER_KEY, message_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.settings import load_settings
from chalicelib.core.store import DynamoStore

THREADS = 6
PER_THREAD = 8
BODY = {
    "conversation_id": "c", "content_hash": "0x" + "02" * 32, "sender": "s",
    "sent_at": "2026-01-01T00:00:00Z",
}


def test_concurrent_posts_get_unique_gapless_seqs_and_each_is_stored_with_its_own(
    served_store: DynamoStore,
) -> None:
    rt = Runtime(load_settings({"TABLE_NAME": served_store.table}),
                 dynamodb_client=served_store.client)
    barrier = threading.Barrier(THREADS)
    results: list[list[dict[str, Any]]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def poster(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            app = {"app_id": f"app_{i:016x}"}
            for _ in range(PER_THREAD):
                results[i].append(post_message(rt, app, BODY))
        except BaseException as exc:  # noqa: BLE001 - inspected below
            errors.append(exc)

    threads = [threading.Thread(target=poster, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    total = THREADS * PER_THREAD
    seqs = sorted(r["seq"] for rs in results for r in rs)
    assert seqs == list(range(1, total + 1))
    for rs in results:
        assert [r["seq"] for r in rs] == sorted(r["seq"] for r in rs)  # increasing per poster
        for r in rs:
            stored = served_store.get(**message_key(r["message_id"]))
            assert stored is not None and stored["seq"] == r["seq"]
    counter = served_store.get(**COUNTER_KEY)
    assert counter is not None and counter["last_seq"] == total
