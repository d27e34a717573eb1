"""EIP-712 typed data for every signed action, so a wallet can sign without reading our code."""

from __future__ import annotations

from chalice import Blueprint, Response

# Each flow with signed actions is imported here so its actions are registered.
import chalicelib.bounties.actions  # noqa: F401
from chalicelib.api.http import json_response, route
from chalicelib.core import signing
from chalicelib.core.runtime import get_runtime

bp = Blueprint(__name__)


@route(bp, "/v1/typed-data", methods=["GET"])
def list_actions() -> Response:
    return json_response(200, signing.catalogue(get_runtime().settings))


@route(bp, "/v1/typed-data/{action}", methods=["GET"])
def typed_data(action: str) -> Response:
    return json_response(200, signing.typed_data(get_runtime().settings, action))
