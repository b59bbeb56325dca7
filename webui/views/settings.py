"""The signed-in user's own preferences: the interface language."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import update

from gatewayd.store import users
from webui.i18n import LANGUAGE_CHOICES
from webui.keys import DB
from webui.redirects import safe_next
from webui.views.common import field, identity_of, read_form


async def set_language(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    identity = identity_of(request)
    choice = field(form, "language", 8)
    if choice not in LANGUAGE_CHOICES or identity.kind != "user":
        raise web.HTTPBadRequest()
    async with request.app[DB].begin() as conn:
        await conn.execute(
            update(users).where(users.c.id == identity.id).values(locale=LANGUAGE_CHOICES[choice])
        )
    raise web.HTTPSeeOther(safe_next(str(form.get("next", ""))))


def register(router: web.UrlDispatcher) -> None:
    router.add_post("/settings/language", set_language, name="language")
