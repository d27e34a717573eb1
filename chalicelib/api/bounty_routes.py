"""Bounty routes: HTTP <-> one call into `chalicelib.bounties` each."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.contract import ADDRESS, CURSOR, Op, Param, count, enum, string
from chalicelib.api.http import json_object, json_response, query_params, route
from chalicelib.core.lazy import lazy_module
from chalicelib.core.runtime import get_runtime

# The flow loads on its first request, not at cold start (see chalicelib/core/lazy.py).
accept = lazy_module("chalicelib.bounties.accept")
cancel = lazy_module("chalicelib.bounties.cancel")
create = lazy_module("chalicelib.bounties.create")
listing = lazy_module("chalicelib.bounties.listing")
pay = lazy_module("chalicelib.bounties.pay")
reads = lazy_module("chalicelib.bounties.reads")
submit = lazy_module("chalicelib.bounties.submit")

bp = Blueprint(__name__)
MAX_LIMIT = 100
BOUNTY_STATUSES = ("open", "judging", "partially-filled", "winner-announced", "paid", "cancelled",
                   "abandoned")
PAGE = (Param("limit", count(MAX_LIMIT)), Param("next", CURSOR))


@route(bp, "/v1/bounties", methods=["POST"], op=Op(
    "Post a bounty", tag="bounties", ok=(201,), signed="create_bounty",
))
def create_bounty() -> Response:
    body = json_object(bp.current_request)
    return json_response(201, {"bounty": create.create_bounty(get_runtime(), body)})


@route(bp, "/v1/bounties", methods=["GET"], op=Op(
    "Bounties, newest first, filtered", tag="bounties",
    query=(Param("status", enum(*BOUNTY_STATUSES)), Param("poster", ADDRESS),
           Param("submitter", ADDRESS), Param("tag", string(32)), *PAGE),
))
def list_bounties() -> Response:
    params = query_params(bp.current_request)
    return json_response(200, listing.list_bounties(get_runtime(), params))


@route(bp, "/v1/bounties/{bounty_id}", methods=["GET"], op=Op("A bounty", tag="bounties"))
def get_bounty(bounty_id: str) -> Response:
    return json_response(200, {"bounty": reads.get_bounty(get_runtime(), bounty_id)})


@route(bp, "/v1/bounties/{bounty_id}/submissions", methods=["POST"], op=Op(
    "Submit a solution", tag="bounties", ok=(201,), signed="submit_solution", errors=(410,),
))
def submit_solution(bounty_id: str) -> Response:
    body = json_object(bp.current_request)
    result = submit.submit_solution(get_runtime(), bounty_id, body)
    return json_response(201, {"submission": result})


@route(bp, "/v1/bounties/{bounty_id}/submissions", methods=["GET"], op=Op(
    "A bounty's submissions", tag="bounties", query=PAGE,
))
def list_submissions(bounty_id: str) -> Response:
    params = query_params(bp.current_request)
    return json_response(200, reads.list_submissions(get_runtime(), bounty_id, params))


@route(bp, "/v1/bounties/{bounty_id}/submissions/{submission_id}", methods=["GET"], op=Op(
    "A submission", tag="bounties",
))
def get_submission(bounty_id: str, submission_id: str) -> Response:
    result = reads.get_submission(get_runtime(), bounty_id, submission_id)
    return json_response(200, {"submission": result})


@route(bp, "/v1/bounties/{bounty_id}/accept", methods=["POST"], op=Op(
    "Accept a submission as a winner", tag="bounties", signed="accept_submission",
    errors=(410,),
))
def accept_submission(bounty_id: str) -> Response:
    body = json_object(bp.current_request)
    result = accept.accept_submission(get_runtime(), bounty_id, body)
    return json_response(200, {"bounty": result})


@route(bp, "/v1/bounties/{bounty_id}/payments", methods=["POST"], op=Op(
    "Record the poster's on-chain payment of a winner", tag="bounties",
    signed="record_payment", errors=(410, 422),
))
def record_payment(bounty_id: str) -> Response:
    body = json_object(bp.current_request)
    return json_response(200, {"bounty": pay.record_payment(get_runtime(), bounty_id, body)})


@route(bp, "/v1/bounties/{bounty_id}/cancel", methods=["POST"], op=Op(
    "Cancel a bounty", tag="bounties", signed="cancel_bounty",
))
def cancel_bounty(bounty_id: str) -> Response:
    body = json_object(bp.current_request)
    return json_response(200, {"bounty": cancel.cancel_bounty(get_runtime(), bounty_id, body)})
