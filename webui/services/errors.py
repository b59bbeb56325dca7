"""The errors of the services, classified by what the caller must do about them.

Each carries the public API's error ``code`` (SPEC: the codes are part of the contract), a
one-line ``message``, the ``field`` it concerns and any ``detail`` (``problems``: the refused
recipients of a batch). Front doors turn them into their own answer: the JSON API into its
error shape (:func:`webui.errors.api_error`), the pages into a form error, the Kannel endpoint
into its text answer.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A request the service refuses; nothing was written."""

    def __init__(self, code: str, message: str, field: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.detail = detail


class Invalid(ServiceError):
    """What was asked cannot be done as asked: fix the request."""


class NotFound(ServiceError):
    """What the request names does not exist (any more)."""


class Conflict(ServiceError):
    """The request clashes with what is stored (a name or number already taken)."""
