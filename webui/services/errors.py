"""The errors of the services, classified by what the caller must do about them.

Each carries the public API's error ``code`` (SPEC: the codes are part of the contract), a
one-line ``message``, the ``field`` it concerns and any ``detail`` (``problems``: the refused
recipients of a batch). Front doors turn them into their own answer: the JSON API into its
error shape (:func:`webui.errors.api_error`), the pages into a form error, the Kannel endpoint
into its text answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal


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


class Forbidden(ServiceError):
    """The caller may not do this from where it is (an address outside the account's
    networks); the same request from elsewhere could succeed."""


class Throttled(ServiceError):
    """Over the account's throughput limit: nothing was written; the same request can
    succeed after ``retry_after`` seconds. The SMPP server answers ``ESME_RTHROTTLED``."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(
            "rate_limited",
            f"over the account's throughput limit; retry in {retry_after:.1f} s",
        )
        self.retry_after = retry_after


QuotaPeriod = Literal["day", "month"]


class QuotaExceeded(ServiceError):
    """The account's daily or monthly quota cannot take the request: nothing was written and
    nothing counted; ``resets_at`` is when the period ends (UTC). The SMPP server answers
    ``ESME_RMSGQFUL``."""

    def __init__(
        self, period: QuotaPeriod, resets_at: datetime, limit: int = 0, remaining: int = 0
    ) -> None:
        word = "daily" if period == "day" else "monthly"
        super().__init__(
            "quota_exceeded",
            f"the account's {word} quota of {limit} messages has {remaining} left; "
            f"it resets at {resets_at.isoformat().replace('+00:00', 'Z')}",
            period=period,
            resets_at=resets_at.isoformat().replace("+00:00", "Z"),
            remaining=remaining,
        )
        self.period = period
        self.resets_at = resets_at
        self.limit = limit
        self.remaining = remaining


BindReason = Literal[
    "unknown_system_id", "wrong_password", "revoked", "network_not_allowed", "locked_out"
]


class BindRefused(ServiceError):
    """An SMPP bind refused; ``reason`` is its code. The SMPP server maps
    ``unknown_system_id`` to ``ESME_RINVSYSID``, ``wrong_password`` to ``ESME_RINVPASWD`` and
    the others to ``ESME_RBINDFAIL``."""

    MESSAGES: ClassVar[dict[str, str]] = {
        "unknown_system_id": "no account has this system_id",
        "wrong_password": "wrong password",
        "revoked": "the account is revoked",
        "network_not_allowed": "the account may not bind from this address",
        "locked_out": "too many failed binds from this address; try again later",
    }

    def __init__(self, reason: BindReason) -> None:
        super().__init__(reason, self.MESSAGES[reason])
        self.reason = reason
