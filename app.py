"""Settlekit's entrypoint: registers the HTTP blueprints, the middleware and the schedules.

Nothing here holds a rule of any flow; each route and schedule is a few lines that call into
`chalicelib/`. Importing this module builds the app and nothing else.
"""

from __future__ import annotations

import os
from typing import Any

from chalice import Chalice, Rate

from chalicelib import jobs
from chalicelib.api import (
    anchoring_routes,
    bounty_routes,
    event_routes,
    faucet_routes,
    otc_routes,
    payout_routes,
    system_routes,
    typed_data_routes,
    web_routes,
    webhook_routes,
)
from chalicelib.api.cors import add_preflight_routes, cors_middleware
from chalicelib.api.http import error_middleware
from chalicelib.core.runtime import get_runtime

app = Chalice(app_name="settlekit")
# CORS first, so its headers reach every response, error ones included.
app.register_middleware(cors_middleware, "http")
app.register_middleware(error_middleware, "http")
app.register_blueprint(payout_routes.bp)
app.register_blueprint(faucet_routes.bp)
app.register_blueprint(event_routes.bp)
app.register_blueprint(anchoring_routes.bp)
app.register_blueprint(bounty_routes.bp)
app.register_blueprint(typed_data_routes.bp)
app.register_blueprint(otc_routes.bp)
app.register_blueprint(web_routes.bp)
app.register_blueprint(webhook_routes.bp)
# Last: its catch-all routes answer JSON 404s for every path nobody else claimed.
app.register_blueprint(system_routes.bp)
add_preflight_routes(app)

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # In Lambda, fail the cold start loudly (naming the bad variable or SSM parameter) instead
    # of serving with a broken configuration; this also reads the stage's secrets once.
    get_runtime()


# One payout engine per wallet purpose (lane), so a faucet burst never delays a settlement or
# an anchor; each has reserved concurrency 1 and the right to sign (scripts/operations.py).
@app.schedule(Rate(1, unit=Rate.MINUTES))
def payout_engine_escrow(event: Any) -> dict[str, Any]:
    rt = get_runtime()
    return jobs.payout_lane(rt, jobs.deadline_from(event.context, rt.clock.now_ms()), "escrow")


@app.schedule(Rate(1, unit=Rate.MINUTES))
def payout_engine_faucet(event: Any) -> dict[str, Any]:
    rt = get_runtime()
    return jobs.payout_lane(rt, jobs.deadline_from(event.context, rt.clock.now_ms()), "faucet")


@app.schedule(Rate(1, unit=Rate.MINUTES))
def payout_engine_anchor(event: Any) -> dict[str, Any]:
    rt = get_runtime()
    return jobs.payout_lane(rt, jobs.deadline_from(event.context, rt.clock.now_ms()), "anchor")


@app.schedule(Rate(1, unit=Rate.MINUTES))
def anchor_messages(event: Any) -> dict[str, Any]:
    rt = get_runtime()
    return jobs.anchors(rt, jobs.deadline_from(event.context, rt.clock.now_ms()))


@app.schedule(Rate(1, unit=Rate.MINUTES))
def otc_expiry(event: Any) -> dict[str, Any]:
    rt = get_runtime()
    return jobs.otc_expiry(rt, jobs.deadline_from(event.context, rt.clock.now_ms()))


@app.schedule(Rate(1, unit=Rate.MINUTES))
def otc_reconcile(event: Any) -> dict[str, Any]:
    rt = get_runtime()
    return jobs.otc_reconcile(rt, jobs.deadline_from(event.context, rt.clock.now_ms()))


@app.schedule(Rate(5, unit=Rate.MINUTES))
def otc_reserves(event: Any) -> dict[str, Any]:
    rt = get_runtime()
    return jobs.otc_reserves(rt, jobs.deadline_from(event.context, rt.clock.now_ms()))
@app.schedule(Rate(1, unit=Rate.MINUTES))
def deliver_webhooks(event: Any) -> dict[str, Any]:
    rt = get_runtime()
    return jobs.webhooks(rt, jobs.deadline_from(event.context, rt.clock.now_ms()))
