"""Translations of the web pages: English source strings, Brazilian Portuguese catalog.

Catalogs live in ``webui/locale/<locale>/LC_MESSAGES/messages.{po,mo}`` (Babel/gettext). The
locale of a request is chosen once by :func:`locale_middleware` and kept in a context variable,
so Jinja2's ``{% trans %}`` / ``_()`` and Python code (:func:`gettext`) translate alike.

Choosing the locale: a signed-in user's ``users.locale`` when it names a language explicitly
(``pt_BR``, ``en_US``); the column's default ``en`` means "follow the browser", so the
``Accept-Language`` header decides, as it does on the login page.

Updating the catalogs after changing strings::

    scripts/i18n.sh extract   # messages.pot from templates and Python
    scripts/i18n.sh update    # merge into pt_BR/messages.po, then translate
    scripts/i18n.sh compile   # messages.mo (committed)
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path

import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations
from sqlalchemy import select

from gatewayd.store import users
from webui.keys import DB, IDENTITY

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES = ("en", "pt_BR")
FOLLOW_BROWSER = "en"
"""The ``users.locale`` column default: no explicit choice, the browser's language applies."""
LANGUAGE_CHOICES = {"auto": FOLLOW_BROWSER, "en": "en_US", "pt_BR": "pt_BR"}
"""Choices of the language menu and what ``users.locale`` stores for each."""

LOCALE_KEY: web.RequestKey[str] = web.RequestKey("locale")

_current: contextvars.ContextVar[NullTranslations] = contextvars.ContextVar("translations")
_current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default="en")


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


# Strings shown by the login view of webui.auth, translated where the template prints them.
LOGIN_REFUSALS = (
    N_("Wrong user name or password."),
    N_("Too many failed attempts. Try again later."),
    N_("The server is busy. Try again in a moment."),
    N_("This account is locked or disabled. Ask an administrator."),
    N_("Wrong code."),
    N_("The sign-in took too long. Start again."),
)


@cache
def translations(locale: str) -> NullTranslations:
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [locale], DOMAIN)


def current() -> NullTranslations:
    return _current.get(translations(DEFAULT_LOCALE))


def activate(locale: str) -> None:
    _current.set(translations(locale))
    _current_locale.set(locale)


def current_lang() -> str:
    """The request's language as an HTML ``lang`` value (``en``, ``pt-BR``)."""
    return html_lang(_current_locale.get())


def gettext(message: str) -> str:
    return current().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return current().ngettext(singular, plural, n)


def supported(value: str | None) -> str | None:
    """The supported locale ``value`` (a stored setting or a tag like ``pt-BR``) stands for."""
    if not value:
        return None
    try:
        parsed = Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None
    if parsed.language == "pt":
        return "pt_BR"
    if parsed.language == "en":
        return "en"
    return None


def from_accept_language(header: str) -> str:
    """The best supported locale for an ``Accept-Language`` header (``en`` when none fits)."""
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag))
    for _, _, tag in sorted(weighted):
        locale = supported(tag)
        if locale is not None:
            return locale
    return DEFAULT_LOCALE


def choose_locale(user_setting: str | None, accept_language: str) -> str:
    if user_setting and user_setting != FOLLOW_BROWSER:
        chosen = supported(user_setting)
        if chosen is not None:
            return chosen
    return from_accept_language(accept_language)


def html_lang(locale: str) -> str:
    return locale.replace("_", "-")


async def _user_setting(request: web.Request) -> str | None:
    identity = request.get(IDENTITY)
    if identity is None or identity.kind != "user":
        return None
    async with request.app[DB].read() as conn:
        value = (
            await conn.execute(select(users.c.locale).where(users.c.id == identity.id))
        ).scalar_one_or_none()
    return str(value) if value is not None else None


@contextlib.asynccontextmanager
async def request_locale(request: web.Request) -> AsyncIterator[str]:
    """Translate in the request's locale (the user's setting, else the browser's) inside."""
    locale = choose_locale(await _user_setting(request), request.headers.get("Accept-Language", ""))
    request[LOCALE_KEY] = locale
    token = _current.set(translations(locale))
    locale_token = _current_locale.set(locale)
    try:
        yield locale
    finally:
        _current.reset(token)
        _current_locale.reset(locale_token)


@web.middleware
async def locale_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pick the request's locale (after authentication, so the user's setting is known)."""
    if request.path.startswith(("/static/", "/api/", "/metrics")):
        return await handler(request)
    async with request_locale(request):
        return await handler(request)


def install(env: jinja2.Environment) -> None:
    """Give templates ``_()``, ``gettext``, ``ngettext`` and ``{% trans %}`` bound to the
    request's locale."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True
    )
    env.globals["current_lang"] = current_lang
