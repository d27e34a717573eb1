"""A client generated from `/v1/openapi.json` by a standard generator calls the service.

openapi-python-client (from PyPI) turns the served document into a typed Python package; its
httpx transport is pointed at the app through Chalice's test client. An organizer creates an
event and codes with the admin token, a person claims a code and reads its status, and errors
come back as the documented `Error` model.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from chalice.test import Client

from chalicelib.core.clock import iso
from tests.e2e import test_faucet_drips as harness
from tests.e2e.test_faucet_drips import ADMIN_TOKEN, ALICE, Api

make_api = harness.make_api
api = harness.api

PACKAGE = "settlekit_api_client"
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package, generated from the document the app serves."""
    import app
    from chalicelib.api import openapi

    assert app.app  # the routes (and so their declarations) are registered
    out = tmp_path_factory.mktemp("client")
    spec = out / "openapi.json"
    spec.write_text(json.dumps(openapi.document()))
    venv_bin = str(Path(sys.executable).parent)
    proc = subprocess.run(
        [str(Path(venv_bin) / "openapi-python-client"), "generate", "--path", str(spec),
         "--meta", "none", "--output-path", str(out / PACKAGE)],
        cwd=out, env={**os.environ, "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}"},
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def transport(chalice: Client) -> httpx.MockTransport:
    """httpx requests answered by the app (no network)."""

    def handle(request: httpx.Request) -> httpx.Response:
        answer = chalice.http.request(
            request.method, request.url.raw_path.decode(), headers=dict(request.headers),
            body=request.content,
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.body)

    return httpx.MockTransport(handle)


def op(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def test_the_generated_client_has_one_function_per_documented_operation(
    generated: ModuleType,
) -> None:
    root = Path(generated.__file__).parent / "api"
    functions = [p for p in root.rglob("*.py") if p.name != "__init__.py"]
    from chalicelib.api.contract import REGISTRY

    assert len(functions) == len(REGISTRY)


def test_a_generated_client_runs_an_event_from_creation_to_a_claim(
    generated: ModuleType, api: Api
) -> None:
    base = "http://settlekit.test"
    public = generated.Client(base_url=base, httpx_args={"transport": transport(api.client)})
    organizer = generated.AuthenticatedClient(
        base_url=base, token=ADMIN_TOKEN, httpx_args={"transport": transport(api.client)}
    )

    health = op("system.get_health").sync(client=public)
    assert health.status == "ok"

    event = op("events.post_events").sync_detailed(client=organizer, body=model("PostEventsBody")(
        name="Summit", amount="5", expires_at=iso(api.clock.now_ms() + DAY_MS)))
    assert event.status_code == 201
    event_id = json.loads(event.content)["id"]

    codes = op("events.post_events_event_id_codes").sync_detailed(
        event_id, client=organizer, body=model("PostEventsEventIdCodesBody")(count=2))
    assert codes.status_code == 201
    code = json.loads(codes.content)["codes"][0]

    claim = op("faucet.post_claims").sync_detailed(
        client=public, body=model("PostClaimsBody")(code=code, wallet=ALICE))
    assert claim.status_code == 202
    status = op("faucet.get_claims_code").sync_detailed(code, client=public)
    assert status.status_code == 200
    assert json.loads(status.content)["code"] == code

    # Errors parse into the documented Error model, the field named.
    bad = op("events.post_events").sync(client=organizer, body=model("PostEventsBody")(
        name="Sum\x00mit", amount="5", expires_at=iso(api.clock.now_ms() + DAY_MS)))
    assert isinstance(bad, model("Error"))
    assert bad.error == "invalid_name"
    unknown = op("events.get_events_event_id").sync("ev_0000000000000000", client=organizer)
    assert isinstance(unknown, model("Error")) and unknown.error == "event_not_found"
