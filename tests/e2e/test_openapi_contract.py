"""`GET /v1/openapi.json`: a valid OpenAPI 3.1 document of exactly the routes the app serves.

The document is built from the declarations the boundary validates with; these tests keep the
declarations, the registered routes and the flows' own limits from drifting apart.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client
from openapi_spec_validator import validate

import app
from chalicelib.api import (
    anchoring_routes,
    bounty_routes,
    event_routes,
    otc_routes,
    payout_routes,
    webhook_routes,
)
from chalicelib.api.contract import REGISTRY
from chalicelib.core import signing
from tests.e2e.test_http_basics import bare, bare_client  # noqa: F401 - fixtures used by name

CATCH_ALL_PREFIX = "not_found_"


def served_routes() -> set[tuple[str, str]]:
    """Every (method, path) Chalice serves, less the catch-alls that answer JSON 404s."""
    return {
        (method, path)
        for path, methods in app.app.routes.items()
        for method, entry in methods.items()
        if not entry.view_name.startswith(CATCH_ALL_PREFIX)
        # The API lives under /v1; the HTML pages (web_routes.py) are not part of it.
        and path.startswith("/v1/")
        # CORS preflights (OPTIONS) are not operations of the API.
        and method != "OPTIONS"
    }


@pytest.fixture
def document(bare_client: Client) -> dict[str, Any]:  # noqa: F811
    resp = bare_client.http.get("/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    return dict(json.loads(resp.body))


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_served_route_is_in_the_document_and_every_documented_one_is_served(
    document: dict[str, Any],
) -> None:
    documented = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert served_routes() - documented == set(), "served but not documented"
    assert documented - served_routes() == set(), "documented but not served"
    assert set(REGISTRY) == documented


def test_a_route_without_a_declaration_cannot_be_registered() -> None:
    from chalice import Blueprint

    from chalicelib.api.http import route

    with pytest.raises(ValueError, match="must declare its operation"):
        route(Blueprint("x"), "/v1/undeclared", methods=["GET"])


def test_every_error_answer_has_the_error_shape_and_auth_is_declared(
    document: dict[str, Any],
) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["adminBearer"]["scheme"] == "bearer"
    assert schemes["appKey"]["scheme"] == "bearer"
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if int(status) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path)
            if path.startswith("/v1/admin/"):
                assert {"adminBearer": []} in op["security"], (method, path)
                assert "401" in op["responses"]
            if "429" in op["responses"]:
                assert "Retry-After" in op["responses"]["429"]["headers"]


def test_signed_bodies_are_the_eip712_actions_the_flows_verify(document: dict[str, Any]) -> None:
    signed = [op for ops in document["paths"].values() for op in ops.values()
              if "x-signed-action" in op]
    assert len(signed) == len(signing.registered())
    for op in signed:
        action = signing.get_action(op["x-signed-action"])
        body = op["requestBody"]["content"]["application/json"]["schema"]
        assert set(body["properties"]) == {f.name for f in action.fields} | {
            "deadline", "signature"}
        assert set(body["required"]) == {f.name for f in action.fields if f.required} | {
            "deadline", "signature"}
        assert body["x-eip712-primary-type"] == action.primary_type
        assert {"401", "403", "409"} <= set(op["responses"])


def test_declared_limits_and_enums_are_the_flows_own() -> None:
    from chalicelib.anchoring import apps, messages, parked
    from chalicelib.bounties import listing, status
    from chalicelib.core.outbox import model, service
    from chalicelib.core.webhooks import deliveries, endpoints
    from chalicelib.faucet import codes, events, resolve
    from chalicelib.otc import book, orders

    assert payout_routes.PAGE_MAX == service.PAGE_MAX
    assert payout_routes.PAYOUT_STATUSES == model.STATUSES
    assert event_routes.PAGE_MAX == codes.PAGE_MAX == resolve.PAGE_MAX
    assert event_routes.MAX_CODES == codes.MAX_CODES
    assert event_routes.MAX_CLAIMS_PER_WALLET == events.MAX_CLAIMS_PER_WALLET
    assert bounty_routes.MAX_LIMIT == listing.MAX_LIMIT
    assert bounty_routes.BOUNTY_STATUSES == status.STATUSES
    assert (otc_routes.PAGE_MAX, otc_routes.DEPTH_MAX, otc_routes.TRADES_MAX) == (
        orders.PAGE_MAX, book.DEPTH_MAX, book.TRADES_MAX)
    assert otc_routes.ORDER_STATUSES == orders.STATUSES
    assert anchoring_routes.PAGE_MAX == parked.PAGE_MAX == apps.PAGE_MAX
    assert event_routes.PAGE_MAX == events.LIST_MAX
    assert webhook_routes.PAGE_MAX == deliveries.PAGE_MAX
    assert (webhook_routes.MAX_URL, webhook_routes.MAX_DESCRIPTION) == (
        endpoints.MAX_URL, endpoints.MAX_DESCRIPTION)
    app_name = REGISTRY[("POST", "/v1/admin/apps")].op.body
    assert app_name is not None and app_name["properties"]["name"]["maxLength"] == apps.MAX_NAME
    message = REGISTRY[("POST", "/v1/messages")].op.body
    assert message is not None
    assert message["properties"]["sender"]["maxLength"] == messages.MAX_TEXT
