"""Reading request input: JSON bodies through the models, query parameters, opaque cursors.

Every mistake becomes an :class:`~webui.errors.ApiError` (400/413/415/422) naming the
field, never a 500.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from webui.errors import ApiError

M = TypeVar("M", bound=BaseModel)
MAX_ROW_ID = 2**63 - 1
"""Row ids are BIGINT."""

PYDANTIC_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "json_invalid": "invalid_json",
    "json_type": "invalid_json",
    "model_type": "wrong_type",
    "model_attributes_type": "wrong_type",
}
FIELD_CODES = {
    ("text", "string_too_short"): "empty_text",
    ("text", "string_too_long"): "text_too_long",
    ("send_at", None): "invalid_send_at",
    ("to", "too_long"): "too_many_recipients",
    ("schedule", None): "invalid_schedule",
    ("tz", None): "invalid_schedule",
}


def field_of(location: tuple[int | str, ...]) -> str | None:
    # pydantic adds union members' type names ("constrained-str", "list[...]") to the
    # location; field names are identifiers and list indexes are ints.
    # A model's class name (a member of ``schedule``'s union) is no field either.
    parts = [
        str(p) for p in location if isinstance(p, int) or (p.isidentifier() and p[:1].islower())
    ]
    return ".".join(parts) or None


def error_code(field: str | None, kind: str) -> str:
    top = (field or "").split(".")[0]
    for key in ((top, kind), (top, None)):
        if key in FIELD_CODES:
            return FIELD_CODES[key]
    if kind in PYDANTIC_CODES:
        return PYDANTIC_CODES[kind]
    if kind.endswith(("_type", "_parsing")) or kind in ("bool_type", "int_from_float"):
        return "wrong_type"
    return "invalid_value"


def _most_specific(errors: list[ErrorDetails]) -> ErrorDetails:
    """The first error, or for a union field (``to``: a string or a list) the error of the
    member the value's type matched: a list of 10,001 numbers is ``too_many_recipients``,
    not "should be a valid string"."""
    top = str(errors[0]["loc"][0]) if errors[0]["loc"] else None
    for error in errors:
        same_field = bool(error["loc"]) and str(error["loc"][0]) == top
        if same_field and not error["type"].endswith("_type"):
            return error
    return errors[0]


def validation_error(exc: ValidationError) -> ApiError:
    errors = exc.errors(include_url=False)
    first = _most_specific(errors)
    field = field_of(tuple(first["loc"]))
    code = error_code(field, first["type"])
    message = first["msg"] if field is None else f"{field}: {first['msg']}"
    if first["type"] == "extra_forbidden":
        message = f"unknown field {field!r}"
    if first["type"] == "string_pattern_mismatch" and len(str(first["ctx"]["pattern"])) > 40:
        message = f"{field}: not in the form the OpenAPI document gives"
    return ApiError(422 if code != "invalid_json" else 400, code, message, field)


async def read_model(request: web.Request, model: type[M], *, whole: bool = False) -> M:
    """The request's JSON body validated into ``model``. ``whole``: the body replaces a whole
    document whose fields all have defaults, so a missing body is refused rather than read as
    "everything back to its default"."""
    kind = request.content_type
    if kind not in ("application/json", "application/octet-stream") and not kind.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = await request.read()
    if not raw.strip():
        if whole:
            raise ApiError(422, "missing_body", "send the whole document as a JSON object")
        raw = b"{}"  # an empty body is an empty object: missing fields are named precisely
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise validation_error(exc) from None


async def read_form(request: web.Request) -> Any:
    """The form body (urlencoded or multipart); a malformed one is a 400, not a crash."""
    try:
        return await request.post()
    except (ValueError, AssertionError, KeyError, HttpProcessingError) as exc:
        raise ApiError(
            400, "bad_request", f"malformed form body: {exc}".splitlines()[0][:200]
        ) from None


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(422, "invalid_value", f"{name} must be an integer", name) from None
    if not low <= value <= high:
        raise ApiError(422, "invalid_value", f"{name} must be from {low} to {high}", name)
    return value


def query_text(request: web.Request, name: str, low: int, high: int) -> str | None:
    """A text parameter of ``low`` to ``high`` characters; None when absent."""
    text = request.query.get(name)
    if text is not None and not low <= len(text) <= high:
        raise ApiError(422, "invalid_value", f"{name} must have {low} to {high} characters", name)
    return text


def query_choice(request: web.Request, name: str, choices: tuple[str, ...]) -> str | None:
    """A parameter that is one of ``choices``; None when absent (an empty one is refused)."""
    text = request.query.get(name)
    if text is not None and text not in choices:
        raise ApiError(422, "invalid_value", f"{name} must be one of {', '.join(choices)}", name)
    return text


RFC3339 = re.compile(
    r"(?P<year>\d{4})-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:(?P<second>\d{2})(\.\d+)?"
    r"([Zz]|[+-]\d{2}:\d{2})"
)
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def query_time(request: web.Request, name: str) -> datetime | None:
    """An RFC 3339 date-time (with its offset); None when the parameter is absent. Any
    well-formed time is taken: one past the ends of the calendar once its offset is applied
    (``0000-01-01T00:00:00+01:00``) stands for the earliest or latest time there is, a leap
    second for the second before. An empty or malformed value is refused (422)."""
    text = request.query.get(name)
    if text is None:
        return None
    found = RFC3339.fullmatch(text)
    if found is None:
        raise ApiError(
            422, "invalid_value", f"{name} must be an RFC 3339 date-time with an offset", name
        )
    if found.group("second") == "60":
        start, end = found.span("second")
        text = text[:start] + "59" + text[end:]
    try:
        value = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        if int(found.group("year")) <= 1:
            return EARLIEST
        if int(found.group("year")) >= 9999:
            return LATEST
        raise ApiError(
            422, "invalid_value", f"{name} is not a date and time that exists", name
        ) from None


CURSOR_PATTERN = r"^[1-9][0-9]{0,18}$"
"""A cursor is the id of the last row of the previous page, in decimal (opaque to clients: they
only pass back ``next_cursor``)."""


def encode_cursor(position: dict[str, Any]) -> str:
    return str(int(position["before"]))


def decode_cursor(request: web.Request) -> dict[str, Any] | None:
    text = request.query.get("cursor")
    if text is None:
        return None
    if not re.fullmatch(CURSOR_PATTERN, text):
        raise ApiError(422, "invalid_cursor", "the cursor is not one this API gave", "cursor")
    # An id above any row's (BIGINT) continues from the newest: every row is older.
    return {"before": min(int(text), MAX_ROW_ID)}


def cursor_before(request: web.Request) -> int | None:
    position = decode_cursor(request)
    return int(position["before"]) if position else None


def path_id(request: web.Request, name: str = "id") -> int:
    text = request.match_info[name]
    try:
        value = int(text)
    except ValueError:
        raise ApiError(404, "not_found", f"{name} must be a number", name) from None
    if not 1 <= value <= MAX_ROW_ID:
        raise ApiError(404, "not_found", f"there is no such {name}", name)
    return value
