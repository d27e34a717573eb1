"""Organizer (admin token): re-enable a disabled event (the console's undo of the kill switch)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import admin, json_object, json_response, route
from chalicelib.core.lazy import lazy_module

events = lazy_module("chalicelib.faucet.events")

bp = Blueprint(__name__)


@route(bp, "/v1/events/{event_id}/enable", methods=["POST"])
def enable_event(event_id: str) -> Response:
    rt = admin(bp.current_request)
    body = json_object(bp.current_request, allow_empty=True)
    return json_response(200, events.enable_event(rt, event_id, body))
