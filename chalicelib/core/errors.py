"""One error family for the whole service.

Domain code raises these; only the HTTP layer turns them into responses, through the
`status` and `code` each class carries. Messages are written for the API client: they never
contain secrets or stack traces.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base of every error the API reports."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}
        if code is not None:
            self.code = code

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(ServiceError):
    """The input is malformed or out of range (400)."""

    status = 400
    code = "bad_request"


class Unauthorized(ServiceError):
    """Credentials are missing or wrong (401)."""

    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    """Authenticated, but not allowed to do this (403)."""

    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    """Nothing by that id or path (404)."""

    status = 404
    code = "not_found"


class MethodNotAllowed(ServiceError):
    """The path exists but not with this method (405)."""

    status = 405
    code = "method_not_allowed"


class Conflict(ServiceError):
    """Lost a race or the item is in the wrong state (409)."""

    status = 409
    code = "conflict"


class Gone(ServiceError):
    """The thing existed but has expired (410)."""

    status = 410
    code = "gone"


class PayloadTooLarge(ServiceError):
    """The request body is larger than the service accepts (413)."""

    status = 413
    code = "payload_too_large"


class Unprocessable(ServiceError):
    """Well-formed, but the state of the world refuses it (422)."""

    status = 422
    code = "unprocessable"


class RateLimited(ServiceError):
    """Too many requests; `retry_after` seconds until the next one can pass (429)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(
            message, details=details, headers={"Retry-After": str(max(1, int(retry_after)))}
        )
        self.retry_after = retry_after


class DependencyUnavailable(ServiceError):
    """The store or the chain cannot be reached right now (503)."""

    status = 503
    code = "dependency_unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, details: Any = None) -> None:
        super().__init__(message, details=details, headers={"Retry-After": str(retry_after)})


class SettingsError(Exception):
    """A setting (environment variable) is missing or invalid; the message names it."""
