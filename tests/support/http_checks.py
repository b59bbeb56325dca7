"""The verdict on one HTTP answer used by the hostile-input tests: never a server error (5xx).

:func:`server_error` is the pure rule; :func:`no_5xx` reads an aiohttp answer's body and fails
with the method, URL, status and the start of the body.
"""

from __future__ import annotations

from aiohttp import ClientResponse

BODY_SHOWN = 500
"""Characters of the body quoted in the failure."""


def server_error(status: int, where: str, body: str) -> str | None:
    """One line describing the answer when ``status`` is a server error, else None."""
    if status < 500:
        return None
    return f"{where}: {status} {body[:BODY_SHOWN]}"


async def no_5xx(response: ClientResponse) -> ClientResponse:
    """``response`` itself once its body is read; an AssertionError on any 5xx."""
    body = (await response.read()).decode(errors="replace")
    problem = server_error(response.status, f"{response.method} {response.url}", body)
    assert problem is None, problem
    return response
