"""The identity behind a request and the role rules that views declare.

Handlers declare what they need with decorators; the auth middleware enforces it before the
handler runs::

    @public                      # no login at all (health, login page)
    @requires(Role.OPERATOR)     # operators and admins
    async def send(request): ...

    @public
    @own_credentials             # checks a key carried by the request itself, never the
    async def sendsms(request):  # session cookie: its POSTs need no CSRF token

Undecorated handlers need any signed-in user or API key (viewer and above).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from aiohttp import web

from gatewayd.store import Role

ROLE_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}
REQUIRED_ROLE_ATTRIBUTE = "smsgw_required_role"
PUBLIC_ATTRIBUTE = "smsgw_public"
OWN_CREDENTIALS_ATTRIBUTE = "smsgw_own_credentials"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class Identity:
    """A signed-in user (``kind="user"``) or an API key (``kind="api_key"``)."""

    kind: Literal["user", "api_key"]
    id: int
    name: str
    role: Role
    csrf_token: str | None = None
    """The session's CSRF token (users only)."""
    must_change_password: bool = False
    """A user still on an initial or reset password: pages lead to the password form."""
    must_enrol_two_factor: bool = False
    """An admin without two-factor sign-in while admins must have it: pages lead to the
    enrolment form."""
    session_id: str | None = None
    """The server-side session (``web_sessions.id``) of a signed-in user."""
    account_id: int | None = None
    """The client account of an API key (users have none)."""

    @property
    def actor(self) -> str:
        """How the audit log and ``created_by`` name this identity: ``user:<name>``,
        ``api_key:<id>``."""
        return f"user:{self.name}" if self.kind == "user" else f"api_key:{self.id}"

    def has_role(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def requires(role: Role) -> Callable[[H], H]:
    """Mark a handler as needing ``role`` or a higher one."""

    def mark(handler: H) -> H:
        setattr(handler, REQUIRED_ROLE_ATTRIBUTE, role)
        return handler

    return mark


def public(handler: H) -> H:
    """Mark a handler as open to anonymous requests."""
    setattr(handler, PUBLIC_ATTRIBUTE, True)
    return handler


def own_credentials(handler: H) -> H:
    """Mark a public handler as authenticating each request by credentials the request itself
    carries (Kannel's ``username``/``password``) and never by the session cookie. A forged
    cross-site request cannot know those credentials, so no CSRF token is asked for."""
    setattr(handler, OWN_CREDENTIALS_ATTRIBUTE, True)
    return handler


def has_own_credentials(handler: object) -> bool:
    return bool(getattr(handler, OWN_CREDENTIALS_ATTRIBUTE, False))


def is_public(handler: object) -> bool:
    return bool(getattr(handler, PUBLIC_ATTRIBUTE, False))


def required_role(handler: object) -> Role:
    role = getattr(handler, REQUIRED_ROLE_ATTRIBUTE, Role.VIEWER)
    return Role(role)
