"""Schemathesis fuzzes every operation of `/v1/openapi.json` against the app.

Valid and invalid requests (positive and negative generation) go through the real route layer
(Chalice's test client behind a `requests` adapter, moto in-process); each answer must not be a
server error, must use a documented status code, and must match its documented schema. The run
is bounded (MAX_EXAMPLES per operation, no shrinking) to stay within about two minutes on two
cores. With SETTLEKIT_FUZZ_STATS set, the number of requests and of server errors is written
there for `bench/bench_fuzz.py`.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from chalice.test import Client
from hypothesis import HealthCheck, settings
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from urllib3 import HTTPResponse

import app
from chalicelib.api import openapi
from chalicelib.core.runtime import Runtime, set_runtime
from chalicelib.core.settings import load_settings
from tests.e2e.test_faucet_drips import ADMIN_TOKEN, BASE_ENV

BASE_URL = "http://settlekit.test"
MAX_EXAMPLES = int(os.environ.get("SETTLEKIT_FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
STATS: dict[str, int] = {"requests": 0, "server_errors": 0}

schema = schemathesis.openapi.from_dict(
    openapi.document(),
    config=SchemathesisConfig.from_dict(
        {
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "no-shrink": True},
            # OPTIONS/HEAD/TRACE are answered by API Gateway (and chalice local), not the app.
            "phases": {"coverage": {"unexpected-methods": ["get", "put", "post", "delete",
                                                           "patch"]}},
        }
    ),
)


class ChaliceAdapter(BaseAdapter):
    """Sends a `requests` request to the app through Chalice's test client (no network)."""

    def __init__(self, client: Client) -> None:
        super().__init__()
        self.client = client

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        url = urlsplit(request.url or "")
        path = url.path + (f"?{url.query}" if url.query else "")
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else bytes(body)
        answer = self.client.http.request(
            request.method or "GET", path, headers=dict(request.headers), body=raw
        )
        STATS["requests"] += 1
        STATS["server_errors"] += answer.status_code >= 500
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.body
        response.headers = CaseInsensitiveDict(answer.headers)
        # Schemathesis reads the headers of the underlying urllib3 response.
        response.raw = HTTPResponse(body=io.BytesIO(answer.body), headers=answer.headers,
                                    status=answer.status_code, version=11, preload_content=False)
        response.url = request.url or ""
        response.request = request
        response.reason = "OK" if answer.status_code < 400 else "Error"
        return response

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def fuzz_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """One app on one moto table for the whole run, and an app key for the app-key routes."""
    import boto3
    from moto import mock_aws

    from chalicelib.core.table import ensure_table

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(client, BASE_ENV["TABLE_NAME"])
        set_runtime(Runtime(load_settings(BASE_ENV), dynamodb_client=client))
        chalice_client = Client(app.app)
        created = chalice_client.http.post(
            "/v1/admin/apps", body=json.dumps({"name": "fuzz"}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert created.status_code == 201
        session = requests.Session()
        session.mount(BASE_URL, ChaliceAdapter(chalice_client))
        yield session, json.loads(created.body)["api_key"]
        set_runtime(None)
    target = os.environ.get("SETTLEKIT_FUZZ_STATS")
    if target:
        with open(target, "w") as out:
            json.dump({**STATS, "operations": len(list(schema.get_all_operations()))}, out)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error_or_an_undocumented_answer(
    case: Any, fuzz_session: tuple[Any, str]
) -> None:
    session, app_key = fuzz_session
    security = case.operation.definition.raw.get("security") or []
    names = {name for requirement in security for name in requirement}
    headers = dict(case.headers or {})
    if "adminBearer" in names:
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    elif "appKey" in names:
        headers["Authorization"] = f"Bearer {app_key}"
    case.headers = headers
    case.call_and_validate(base_url=BASE_URL, session=session, checks=CHECKS)
