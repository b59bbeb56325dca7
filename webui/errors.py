"""The JSON error shape of the API (and of every JSON answer: live streams, the gates): one
exception type carrying status, code, message and field, and the mapping of the services'
errors onto it."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from gatewayd.store import utc_now
from webui.services.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    QuotaExceeded,
    ServiceError,
    Throttled,
)


class ApiError(Exception):
    """Raised by API handlers; the error middleware turns it into a JSON error response."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        error.update(self.extra)
        return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    body = ApiError(status, code, message, field, **extra).body()
    return web.json_response(body, status=status, headers=headers)


def not_found(what: str, field: str | None = None) -> ApiError:
    return ApiError(404, "not_found", f"{what} does not exist", field)


HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


REFUSAL_STATUS: dict[type[ServiceError], int] = {
    Invalid: 422,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Throttled: 429,
    QuotaExceeded: 429,
}
"""The HTTP status of each kind of service error (:mod:`webui.services.errors`)."""


def retry_after_seconds(exc: ServiceError) -> int | None:
    """Whole seconds (at least 1) until a refused request can succeed, for ``Retry-After``:
    the throughput limit's wait, or the time until a used-up quota resets."""
    if isinstance(exc, Throttled):
        return max(1, math.ceil(exc.retry_after))
    if isinstance(exc, QuotaExceeded):
        return max(1, math.ceil((exc.resets_at - utc_now()).total_seconds()))
    return None


def retry_after_header(exc: ServiceError) -> dict[str, str] | None:
    seconds = retry_after_seconds(exc)
    return None if seconds is None else {"Retry-After": str(seconds)}


def api_error(exc: ServiceError) -> ApiError:
    """A service's refusal in the API's error shape: same code, message, field and detail."""
    status = next((status for kind, status in REFUSAL_STATUS.items() if isinstance(exc, kind)), 422)
    return ApiError(status, exc.code, exc.message, exc.field, **exc.detail)
