"""EIP-712 typed data for every signed action, so a wallet can sign without reading our code."""

from __future__ import annotations

from types import ModuleType

from chalice import Blueprint, Response

from chalicelib.api.contract import SIGNED_ACTION_MODULES, Op, string
from chalicelib.api.http import json_response, route
from chalicelib.core.lazy import lazy_module, load
from chalicelib.core.runtime import get_runtime

# Loaded on first use, like every flow (see chalicelib/core/lazy.py).
signing = lazy_module("chalicelib.core.signing")

bp = Blueprint(__name__)


def _registered() -> ModuleType:
    for name in SIGNED_ACTION_MODULES:
        load(lazy_module(name))  # loading the module runs its registrations
    return signing


@route(bp, "/v1/typed-data", methods=["GET"], op=Op("Every signed action", tag="signing"))
def list_actions() -> Response:
    return json_response(200, _registered().catalogue(get_runtime().settings))


@route(bp, "/v1/typed-data/{action}", methods=["GET"], op=Op(
    "An action's EIP-712 domain and types, to sign with a wallet", tag="signing",
    path={"action": string(64, pattern=r"^[a-z_]+$")},
))
def typed_data(action: str) -> Response:
    return json_response(200, _registered().typed_data(get_runtime().settings, action))
