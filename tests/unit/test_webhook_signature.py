"""The webhook signature scheme, and the receiver example in docs/webhooks.md, which must work."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.webhooks import delivery, signature

ROOT = Path(__file__).resolve().parents[2]
BODY = b'{"id":"evt_1","type":"claim.paid"}'


def docs_verify() -> Any:
    text = (ROOT / "docs" / "webhooks.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block is not None
    scope: dict[str, Any] = {}
    exec(block.group(1), scope)  # noqa: S102 - our own documentation's example
    return scope["verify"]


@pytest.mark.parametrize("check", ["service", "docs"])
def test_a_fresh_signature_passes_and_stale_tampered_or_foreign_ones_fail(check: str) -> None:
    now = int(time.time())
    verify = (lambda s, h, b: signature.verify(s, h, b)) if check == "service" else docs_verify()
    header = signature.header(["whsec_a"], now, BODY)
    assert verify("whsec_a", header, BODY)
    assert not verify("whsec_b", header, BODY)
    assert not verify("whsec_a", header, BODY + b" ")
    assert not verify("whsec_a", signature.header(["whsec_a"], now - 301, BODY), BODY)
    assert not verify("whsec_a", signature.header(["whsec_a"], now + 301, BODY), BODY)
    assert not verify("whsec_a", "v1=" + signature.sign("whsec_a", now, BODY), BODY)
    assert not verify("whsec_a", f"t=x,v1={signature.sign('whsec_a', now, BODY)}", BODY)


def test_during_a_rotation_both_secrets_sign_the_same_request() -> None:
    now = int(time.time())
    header = signature.header(["whsec_new", "whsec_old"], now, BODY)
    assert header.count("v1=") == 2
    assert signature.verify("whsec_new", header, BODY)
    assert signature.verify("whsec_old", header, BODY)


def test_backoff_doubles_with_jitter_up_to_an_hour() -> None:
    import random

    rng = random.Random(7)
    for failures in range(1, 20):
        base = min(delivery.BACKOFF_BASE_MS * 2 ** (failures - 1), delivery.BACKOFF_CAP_MS)
        assert base // 2 <= delivery.backoff_ms(failures, rng) <= base
    assert delivery.RETRY_FOR_MS >= 24 * 3600 * 1000
