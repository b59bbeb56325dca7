"""Validating and queueing what a sender asked for: shared by the JSON API, the CSV upload and
the Kannel-compatible endpoint.

Every recipient is validated before anything is written; with several recipients the problems
are reported per index. The whole batch is one transaction and one multi-row insert. After the
commit gatewayd is woken through the bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import WAKE
from gatewayd.queue import InvalidMessage, NewMessage, PreparedMessage, enqueue, prepare
from gatewayd.queue.view import load_messages
from gatewayd.store import modems
from webui.api.errors import ApiError
from webui.audit import record
from webui.auth.identity import Identity
from webui.keys import BUS, CLIENT_ADDRESS, DB, SETTINGS

OFFLOAD_ABOVE = 200
"""Batches larger than this are validated in a worker thread to keep the loop answering."""
MAX_IDEMPOTENCY_KEY = 255


@dataclass
class Prepared:
    messages: list[PreparedMessage] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)


def prepare_all(
    template: NewMessage,
    recipients: Sequence[str],
    *,
    default_region: str | None,
    known_modems: set[str] | None,
) -> Prepared:
    result = Prepared()
    for index, to in enumerate(recipients):
        try:
            result.messages.append(
                prepare(
                    NewMessage(**{**template.__dict__, "to": to}),
                    default_region=default_region,
                    known_modems=known_modems,
                )
            )
        except InvalidMessage as exc:
            if exc.field != "to":
                raise  # the same for every recipient: report it once, as the request's error
            result.problems.append(
                {"index": index, "to": to, "code": exc.code, "message": str(exc)}
            )
    return result


async def known_modem_names(request: web.Request) -> set[str]:
    names = {modem.name for modem in request.app[SETTINGS].modems}
    async with request.app[DB].read() as conn:
        names.update(row[0] for row in await conn.execute(select(modems.c.name)))
    return names


def idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise ApiError(422, "invalid_idempotency_key",
                       f"Idempotency-Key must have 1 to {MAX_IDEMPOTENCY_KEY} characters",
                       "Idempotency-Key")
    return key


async def validate(
    request: web.Request, template: NewMessage, recipients: Sequence[str], *, skip_invalid: bool
) -> Prepared:
    known = await known_modem_names(request) if template.modem is not None else None
    region = request.app[SETTINGS].gateway.default_region
    try:
        if len(recipients) > OFFLOAD_ABOVE:
            prepared = await asyncio.to_thread(
                prepare_all, template, recipients, default_region=region, known_modems=known
            )
        else:
            prepared = prepare_all(template, recipients, default_region=region,
                                   known_modems=known)
    except InvalidMessage as exc:
        raise ApiError(422, exc.code, str(exc), exc.field) from None
    if prepared.problems and (not skip_invalid or not prepared.messages):
        if len(recipients) == 1:
            problem = prepared.problems[0]
            raise ApiError(422, problem["code"], problem["message"], "to")
        raise ApiError(
            422,
            "invalid_recipients",
            f"{len(prepared.problems)} of {len(recipients)} recipients are invalid; fix them or "
            'send "skip_invalid": true',
            "to",
            problems=prepared.problems[:1000],
        )
    return prepared


async def queue_prepared(
    request: web.Request,
    identity: Identity,
    prepared: Prepared,
    *,
    key: str | None,
    extra: Any = None,
) -> tuple[list[int], bool]:
    """Insert (or find the earlier request's) messages; wake gatewayd when new ones went in.
    Returns (ids, created)."""
    ids, created, _ = await queue_and_load(request, identity, prepared, key=key, extra=extra,
                                           load=False)
    return ids, created


async def queue_and_load(
    request: web.Request,
    identity: Identity,
    prepared: Prepared,
    *,
    key: str | None,
    extra: Any = None,
    load: bool = True,
) -> tuple[list[int], bool, list[dict[str, Any]]]:
    """:func:`queue_prepared`, also reading the messages back as JSON in the same
    transaction (when ``load``)."""
    loaded: list[dict[str, Any]] = []
    db = request.app[DB]
    for attempt in (1, 2):
        try:
            async with db.begin() as conn:
                ids, created = await enqueue(
                    conn, prepared.messages, created_by=identity.actor, idempotency_key=key
                )
                if created:
                    await _after_insert(conn, request, identity, ids, prepared, extra)
                if load:
                    loaded = await load_in_chunks(conn, ids)
            break
        except IntegrityError:
            if attempt == 2 or key is None:
                raise
            # Another request with the same Idempotency-Key won the race: answer with its ids.
    if created:
        await request.app[BUS].publish(WAKE, {"reason": "queued"})
    return ids, created, loaded


async def _after_insert(
    conn: AsyncConnection,
    request: web.Request,
    identity: Identity,
    ids: list[int],
    prepared: Prepared,
    extra: Any,
) -> None:
    detail: dict[str, Any] = {"count": len(ids), "first_id": ids[0] if ids else None}
    if len(ids) == 1:
        detail["to"] = prepared.messages[0].recipient
    if prepared.problems:
        detail["skipped"] = len(prepared.problems)
    target = f"message:{ids[0]}" if len(ids) == 1 else f"batch:{ids[0] if ids else '-'}"
    await record(conn, identity.actor, "message.send", target, detail, request[CLIENT_ADDRESS])
    if extra is not None:
        await extra(conn, ids)


async def load_in_chunks(conn: AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), 5000):
        out.extend(await load_messages(conn, ids[start : start + 5000]))
    return out
