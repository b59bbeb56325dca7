"""Managing client accounts: list, create, change, revoke, set the SMPP password. One path for
the admin API, the admin pages and the command line.

Changes are given as a mapping of the fields to change (what a field left out keeps), checked
here whatever the front door: names unique whatever their case, ``system_id`` at most 15
characters and unique, the SMPP password 1 to 8 printable ASCII characters (SMPP 3.4 carries
at most 8), limits and quotas positive or ``None`` (unlimited), networks as CIDR, modem names
as the configuration writes them, webhook URLs under the webhook address policy. Every
change is audited in its own transaction (``account.create``, ``account.update``,
``account.revoke``; the detail names the fields, never the password) and announced on the bus
(:class:`~gatewayd.events.AccountChanged`), so every process drops its cached copy at once.
The SMPP password's hash never leaves this module; a webhook secret is shown once, when made.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from gatewayd.bus import Bus
from gatewayd.events import ACCESS, AccountChanged
from gatewayd.queue.view import iso
from gatewayd.store import DEFAULT_ACCOUNT, MAX_SYSTEM_ID, Database, accounts, utc_now
from webui.addresses import AddressPolicy
from webui.audit import record
from webui.services.accounts import Account, Accounts, account_from_row, parse_networks
from webui.services.caller import Caller
from webui.services.errors import Conflict, Invalid, NotFound
from webui.services.quotas import Usage
from webui.webhooks.urls import WebhookUrlError, checked_webhook_url

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
SYSTEM_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_SYSTEM_ID}}}")
SMPP_PASSWORD = re.compile(r"[\x20-\x7e]{1,8}")
MAX_SMPP_PASSWORD = 8
MODEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,31}")
MAX_TPS = 100_000.0
MAX_QUOTA = 2_000_000_000
MAX_LIST = 100

FIELDS = frozenset(
    {
        "name",
        "system_id",
        "smpp_password",
        "tps",
        "daily_quota",
        "monthly_quota",
        "allowed_networks",
        "allowed_modems",
        "incoming_modems",
        "incoming_as_parts",
        "webhook_url",
        "rotate_webhook_secret",
    }
)


@dataclass(frozen=True)
class Saved:
    """An account as just written, and its new webhook secret when one was made (shown once)."""

    account: Account
    webhook_secret: str | None = None


def check_smpp_password(password: str) -> str:
    """The password when SMPP 3.4 can carry it, else :class:`Invalid` ``invalid_password``."""
    if len(password) > MAX_SMPP_PASSWORD:
        raise Invalid(
            "invalid_password",
            f"an SMPP password has at most {MAX_SMPP_PASSWORD} characters (SMPP 3.4)",
            "smpp_password",
        )
    if not SMPP_PASSWORD.fullmatch(password):
        raise Invalid(
            "invalid_password",
            "an SMPP password is 1 to 8 printable ASCII characters",
            "smpp_password",
        )
    return password


def _number(value: Any, field: str, *, integer: bool, most: float) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid("invalid_value", f"{field} must be a number or null", field)
    if integer and (isinstance(value, float) and not value.is_integer()):
        raise Invalid("invalid_value", f"{field} must be a whole number", field)
    least = 0 if integer else 0.001
    if not least <= value <= most:
        raise Invalid("invalid_value", f"{field} must be from {least} to {most:g}", field)
    return int(value) if integer else float(value)


def _list(value: Any, field: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise Invalid("invalid_value", f"{field} must be a list of strings", field)
    items = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(items) > MAX_LIST:
        raise Invalid("invalid_value", f"{field} has more than {MAX_LIST} entries", field)
    return items


def _modems(value: Any, field: str) -> list[str]:
    names = _list(value, field)
    for name in names:
        if not MODEM.fullmatch(name):
            raise Invalid("invalid_value", f"{name!r} is not a modem name", field)
    return names


class AccountAdmin:
    """Account management on one database and bus (a web process, the command line)."""

    def __init__(
        self, db: Database, bus: Bus, accounts_: Accounts, webhook_policy: AddressPolicy
    ) -> None:
        self.db = db
        self.bus = bus
        self.accounts = accounts_
        self.webhook_policy = webhook_policy

    async def list(self, *, include_revoked: bool = True) -> list[Account]:
        query = select(accounts).order_by(accounts.c.name_key)
        if not include_revoked:
            query = query.where(accounts.c.revoked_at.is_(None))
        async with self.db.read() as conn:
            return [account_from_row(row) for row in await conn.execute(query)]

    async def find(self, *, name: str | None = None, system_id: str | None = None) -> Account:
        """The account with this name (any case) or system_id, else :class:`NotFound`."""
        if name is not None:
            query = select(accounts).where(accounts.c.name_key == name.strip().lower())
        else:
            query = select(accounts).where(accounts.c.system_id == system_id)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            what = f"account {name!r}" if name is not None else f"system_id {system_id!r}"
            raise NotFound("not_found", f"{what} does not exist")
        return account_from_row(row)

    async def usage(self, account: Account) -> Usage | None:
        """Messages counted today and this month; None for an account without a quota (only
        accounts with a quota are counted: the others cost the send path nothing)."""
        if not account.limits.any:
            return None
        return await self.accounts.usage(account.id)

    async def create(self, caller: Caller, fields: Mapping[str, Any]) -> Saved:
        if "name" not in fields:
            raise Invalid("missing_value", "an account needs a name", "name")
        values, password, _ = await self._values(fields)
        if password is not None:
            values["smpp_password_hash"] = await self.accounts.password_work.hash(password)
        secret = secrets.token_urlsafe(32)  # a new account always gets one
        values.update(webhook_secret=secret, created_at=utc_now(), created_by=caller.actor[:100])
        try:
            async with self.db.begin() as conn:
                account_id = (
                    await conn.execute(insert(accounts).values(**values).returning(accounts.c.id))
                ).scalar_one()
                await record(
                    conn,
                    caller.actor,
                    "account.create",
                    f"account:{account_id}",
                    _audit_detail(fields),
                    caller.client_address,
                )
        except IntegrityError as exc:
            raise _conflict(exc) from None
        return Saved(await self._announce(account_id), secret)

    async def update(self, caller: Caller, account_id: int, fields: Mapping[str, Any]) -> Saved:
        current = await self.accounts.get(account_id)
        if current.revoked:
            raise Conflict("revoked", "the account is revoked; create a new one")
        if "name" in fields and current.name == DEFAULT_ACCOUNT and fields["name"] != current.name:
            raise Conflict("default_account", "the default account keeps its name", "name")
        values, password, rotate = await self._values(fields)
        if password is not None:
            values["smpp_password_hash"] = await self.accounts.password_work.hash(password)
        secret = secrets.token_urlsafe(32) if rotate else None
        if secret is not None:
            values["webhook_secret"] = secret
        if values:
            try:
                async with self.db.begin() as conn:
                    await conn.execute(
                        update(accounts).where(accounts.c.id == account_id).values(**values)
                    )
                    await record(
                        conn,
                        caller.actor,
                        "account.update",
                        f"account:{account_id}",
                        _audit_detail(fields),
                        caller.client_address,
                    )
            except IntegrityError as exc:
                raise _conflict(exc) from None
        return Saved(await self._announce(account_id), secret)

    async def revoke(self, caller: Caller, account_id: int) -> Account:
        """Revoke the account: its API keys and SMPP credentials stop working at once. Revoking
        a revoked account changes nothing."""
        current = await self.accounts.get(account_id)
        if current.name == DEFAULT_ACCOUNT:
            raise Conflict(
                "default_account", "the default account cannot be revoked; revoke its keys"
            )
        if current.revoked:
            return current
        async with self.db.begin() as conn:
            await conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id, accounts.c.revoked_at.is_(None))
                .values(revoked_at=utc_now())
            )
            await record(
                conn,
                caller.actor,
                "account.revoke",
                f"account:{account_id}",
                {"name": current.name, "system_id": current.system_id},
                caller.client_address,
            )
        return await self._announce(account_id)

    async def _announce(self, account_id: int) -> Account:
        self.accounts.forget(account_id)
        await self.bus.publish(ACCESS, AccountChanged(account_id=account_id))
        return await self.accounts.get(account_id)

    async def _values(self, fields: Mapping[str, Any]) -> tuple[dict[str, Any], str | None, bool]:
        """The columns to write, the new SMPP password (None: unchanged) and whether to make a
        new webhook secret."""
        unknown = set(fields) - FIELDS
        if unknown:
            field = sorted(unknown)[0]
            raise Invalid("unknown_field", f"{field} is not an account field", field)
        values: dict[str, Any] = {}
        if "name" in fields:
            name = fields["name"]
            if not isinstance(name, str) or not NAME.fullmatch(name.strip()):
                raise Invalid(
                    "invalid_name",
                    "an account name is 1 to 64 letters, digits and _ . @ - (no spaces)",
                    "name",
                )
            values.update(name=name.strip(), name_key=name.strip().lower())
        if "system_id" in fields:
            system_id = fields["system_id"]
            if system_id is not None and (
                not isinstance(system_id, str) or not SYSTEM_ID.fullmatch(system_id)
            ):
                raise Invalid(
                    "invalid_system_id",
                    f"a system_id is 1 to {MAX_SYSTEM_ID} printable ASCII characters, no spaces",
                    "system_id",
                )
            values["system_id"] = system_id
            if system_id is None:
                values["smpp_password_hash"] = None
        password = None
        if fields.get("smpp_password") is not None:
            if not isinstance(fields["smpp_password"], str):
                raise Invalid("invalid_password", "smpp_password must be text", "smpp_password")
            password = check_smpp_password(fields["smpp_password"])
        if "tps" in fields:
            values["tps"] = _number(fields["tps"], "tps", integer=False, most=MAX_TPS)
        for quota in ("daily_quota", "monthly_quota"):
            if quota in fields:
                values[quota] = _number(fields[quota], quota, integer=True, most=MAX_QUOTA)
        if "allowed_networks" in fields:
            networks = _list(fields["allowed_networks"], "allowed_networks")
            try:
                values["allowed_networks"] = [str(n) for n in parse_networks(networks)]
            except ValueError as exc:
                raise Invalid("invalid_network", str(exc), "allowed_networks") from None
        for field in ("allowed_modems", "incoming_modems"):
            if field in fields:
                values[field] = _modems(fields[field], field)
        if "incoming_as_parts" in fields:
            if not isinstance(fields["incoming_as_parts"], bool):
                raise Invalid(
                    "invalid_value", "incoming_as_parts must be true or false", "incoming_as_parts"
                )
            values["incoming_as_parts"] = fields["incoming_as_parts"]
        if "webhook_url" in fields:
            values["webhook_url"] = await self._webhook_url(fields["webhook_url"])
        return values, password, bool(fields.get("rotate_webhook_secret"))

    async def _webhook_url(self, url: Any) -> str | None:
        if url is None or url == "":
            return None
        if not isinstance(url, str):
            raise Invalid("invalid_url", "webhook_url must be text", "webhook_url")
        try:
            return await checked_webhook_url(url, self.webhook_policy)
        except WebhookUrlError as exc:
            raise Invalid("invalid_url", str(exc), "webhook_url") from None


def _conflict(error: IntegrityError) -> Conflict:
    """A unique constraint broken by a write: the name or the system_id is taken."""
    text = str(error.orig).lower()
    if "system_id" in text:
        return Conflict("system_id_taken", "another account has this system_id", "system_id")
    return Conflict("name_taken", "another account has this name (in any case)", "name")


def _audit_detail(fields: Mapping[str, Any]) -> dict[str, Any]:
    detail = {k: v for k, v in fields.items() if k not in ("smpp_password", "webhook_url")}
    if fields.get("smpp_password") is not None:
        detail["smpp_password"] = "set"
    if "webhook_url" in fields:
        detail["webhook_url"] = fields["webhook_url"]
    return detail


def account_json(account: Account, usage: Usage | None = None) -> dict[str, Any]:
    """An account as the API and the command line show it: never the SMPP password's hash
    nor the webhook secret."""
    return {
        "id": account.id,
        "name": account.name,
        "system_id": account.system_id,
        "smpp_enabled": account.smpp_enabled,
        "tps": account.tps,
        "daily_quota": account.daily_quota,
        "monthly_quota": account.monthly_quota,
        "allowed_networks": [str(n) for n in account.allowed_networks],
        "allowed_modems": list(account.allowed_modems),
        "incoming_modems": list(account.incoming_modems),
        "incoming_as_parts": account.incoming_as_parts,
        "webhook_url": account.webhook_url,
        "created_at": iso(account.created_at),
        "created_by": account.created_by,
        "revoked_at": iso(account.revoked_at),
        "usage": None if usage is None else {"today": usage.day, "this_month": usage.month},
    }
