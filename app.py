"""Settlekit's entrypoint: registers the HTTP blueprints, the middleware and the schedules.

Nothing here holds a rule of any flow; each route and schedule is a few lines that call into
`chalicelib/`. Importing this module builds the app and nothing else.
"""

from __future__ import annotations

import os

from chalice import Chalice

from chalicelib.api import system_routes
from chalicelib.api.http import error_middleware

app = Chalice(app_name="settlekit")
app.register_middleware(error_middleware, "http")
app.register_blueprint(system_routes.bp)

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # In Lambda, fail the cold start loudly (naming the bad variable) instead of serving with
    # a broken configuration.
    from chalicelib.core.settings import load_settings

    load_settings()
