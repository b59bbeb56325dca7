"""The opt-out page: the opt-out, block and allow lists with search, adding and removing
entries, CSV import (pasted) and export, and (admins) the opt-out words and confirmations.

Everything is :class:`~webui.services.optouts.OptOuts`' to check and audit; the page maps its
refusals to a notice.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from gatewayd.queue.suppression import OptOutSettings
from gatewayd.store import Role
from webui.auth.identity import requires
from webui.i18n import gettext as _
from webui.keys import OPT_OUTS
from webui.services.caller import Caller
from webui.services.errors import ServiceError
from webui.services.optouts import KINDS, MAX_IMPORT_ROWS
from webui.views.common import (
    client_address,
    field,
    identity_of,
    int_or_none,
    notify,
    read_form,
    render,
)

PAGE_SIZE = 100
LAST_PAGE = (2**63 - 1) // PAGE_SIZE
"""Pages past it would need an offset no database integer holds; they are empty anyway."""
MAX_CSV_CHARS = 4_000_000


def _caller(request: web.Request) -> Caller:
    return Caller(identity_of(request).actor, client_address(request))


def _kind(value: str) -> str:
    return value if value in KINDS else "opt_out"


@requires(Role.VIEWER)
async def optouts_page(request: web.Request) -> web.StreamResponse:
    search = request.query.get("q", "").strip()[:64]
    kind = request.query.get("kind", "")
    kind = kind if kind in KINDS else ""
    page = min(max(int_or_none(request.query.get("page")) or 1, 1), LAST_PAGE)
    service = request.app[OPT_OUTS]
    entries, total = await service.list(
        search=search, kind=kind or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    more = page * PAGE_SIZE < total
    next_link = "/optouts?" + urlencode({"q": search, "kind": kind, "page": page + 1})
    context = {
        "entries": entries,
        "total": total,
        "search": search,
        "kind": kind,
        "kinds": KINDS,
        "next_link": next_link if more else None,
        "words": await service.words(),
        "max_rows": MAX_IMPORT_ROWS,
    }
    return await render(request, "optouts.html", context, page="optouts")


@requires(Role.OPERATOR)
async def add_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    number = field(form, "number", 64)
    try:
        entry, new = await request.app[OPT_OUTS].add(
            _caller(request),
            number,
            kind=_kind(field(form, "kind", 16)),
            prefix=form.get("prefix") == "on",
            note=field(form, "note", 200) or None,
            source="page",
        )
    except ServiceError as exc:
        await notify(request, _("Not added: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther("/optouts") from None
    text = _("%(number)s added.") if new else _("%(number)s was already listed.")
    await notify(request, text % {"number": entry.number})
    raise web.HTTPSeeOther("/optouts")


@requires(Role.OPERATOR)
async def remove_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    number = field(form, "number", 64)
    try:
        await request.app[OPT_OUTS].remove(
            _caller(request), number, kind=_kind(field(form, "kind", 16))
        )
    except ServiceError as exc:
        await notify(request, _("Not removed: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther("/optouts") from None
    await notify(request, _("%(number)s removed.") % {"number": number})
    raise web.HTTPSeeOther("/optouts")


@requires(Role.OPERATOR)
async def import_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    data = str(form.get("csv", ""))
    if len(data) > MAX_CSV_CHARS:
        await notify(request, _("The list is too long."), "error")
        raise web.HTTPSeeOther("/optouts")
    try:
        result = await request.app[OPT_OUTS].import_csv(
            _caller(request), data, kind=_kind(field(form, "kind", 16))
        )
    except ServiceError as exc:
        await notify(request, _("Not imported: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther("/optouts") from None
    text = _("Imported: %(added)d added, %(already)d already listed, %(refused)d refused.")
    values = {
        "added": result["added"],
        "already": result["already_listed"],
        "refused": result["refused"],
    }
    await notify(request, text % values, "error" if result["refused"] else "ok")
    raise web.HTTPSeeOther("/optouts")


@requires(Role.VIEWER)
async def export_csv(request: web.Request) -> web.StreamResponse:
    body = await request.app[OPT_OUTS].export_csv()
    return web.Response(
        text=body,
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="optouts.csv"'},
    )


@requires(Role.ADMIN)
async def words_submit(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)

    def words(name: str) -> tuple[str, ...]:
        return tuple(w for w in field(form, name, 4000).replace(",", " ").split() if w)

    chosen = OptOutSettings(
        words("stop_words"),
        words("start_words"),
        field(form, "stop_reply", 2000),
        field(form, "start_reply", 2000),
    )
    try:
        await request.app[OPT_OUTS].save_words(_caller(request), chosen)
    except ServiceError as exc:
        await notify(request, _("Not saved: %(reason)s") % {"reason": exc}, "error")
        raise web.HTTPSeeOther("/optouts") from None
    await notify(request, _("Opt-out words saved."))
    raise web.HTTPSeeOther("/optouts")


def register(router: web.UrlDispatcher) -> None:
    router.add_get("/optouts", optouts_page, name="optouts")
    router.add_post("/optouts", add_submit)
    router.add_post("/optouts/remove", remove_submit)
    router.add_post("/optouts/import", import_submit)
    router.add_get("/optouts/export.csv", export_csv, name="optouts.export")
    router.add_post("/optouts/words", words_submit)
