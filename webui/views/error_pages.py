"""Errors of the pages shown inside the page frame, in the user's language: a page that does not
exist (ours or the framework's 404), a role too small, a method or a request that makes no
sense. API paths keep their JSON errors (:mod:`webui.middlewares`); a 5xx is not dressed up.

The middleware sits outside authentication (its refusals are plain-text answers), so it picks
the locale itself when it shows an error."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from webui.i18n import N_, gettext, request_locale
from webui.middlewares import is_api_path
from webui.views.common import render

SENTENCES = {
    400: N_("The request was not understood."),
    403: N_("You cannot open this page or do this: it needs another role."),
    404: N_("There is nothing here: the page or the item does not exist (any more)."),
    405: N_("This page cannot be used like that."),
    413: N_("What was sent is too large."),
}
CSRF_REFUSAL = "CSRF token"
"""How the authentication middleware's refusal of a form without its token reads."""
STALE_FORM = N_("The form was too old or came from another site: reload the page and try again.")
TITLES = {
    400: N_("Bad request"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed"),
    413: N_("Too large"),
}


def _own_detail(status: int, text: str | None) -> str | None:
    """The handler's own sentence (already translated), not a framework default."""
    if not text:
        return None
    line = text.strip()
    if line.startswith((f"{status}:", "Forbidden:", "Bad request:")) or line in (
        "Not Found",
        "Not found.",
        "Forbidden",
        "Bad Request",
        "Method Not Allowed",
    ):
        return None
    return line[:300]


def _sentence(status: int, text: str | None) -> str:
    if text and CSRF_REFUSAL in text:
        return STALE_FORM
    return SENTENCES.get(status, SENTENCES[400])


async def error_page(request: web.Request, status: int, text: str | None) -> web.Response:
    async with request_locale(request):
        context = {
            "status": status,
            "title": gettext(TITLES.get(status, TITLES[400])),
            "sentence": gettext(_sentence(status, text)),
            "detail": _own_detail(status, text),
        }
        response = await render(request, "error.html", context, status=status)
    return response


def _is_page(request: web.Request) -> bool:
    path = request.path
    return not (
        is_api_path(path)
        or path.startswith(("/static/", "/events", "/ui/"))
        or path.endswith((".json", ".csv"))
    )


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_page(request):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status not in SENTENCES:
            raise
        return await error_page(request, exc.status, exc.text)
    if (
        response.status in SENTENCES
        and isinstance(response, web.Response)
        and response.content_type == "text/plain"
    ):
        return await error_page(request, response.status, response.text)
    return response
