"""Validating and queueing what a sender asked for: one message, a batch, rows of a CSV, the
recipients and groups of the compose page, now or scheduled (``send_at``). Shared by the JSON
API, the CSV upload, the Kannel-compatible endpoint and the pages, through :class:`Sending`.

Every recipient is validated before anything is written; with several recipients the problems
are reported per index (the text is checked and encoded once per request). A batch is one
transaction; small requests without an idempotency key share one with whatever else arrives
meanwhile (:mod:`webui.services.group_commit`). The answer is built from what was written, not read
back. After the commit gatewayd is woken through the bus. Refusals are
:class:`~webui.services.errors.Invalid` with the public API's error codes.

A caller with a client account (:attr:`Caller.account`) is held to it on every path, in
:meth:`Sending.queue_and_load`: its allowed modems (``modem_not_allowed``; a message naming
no modem gets one of them), then its throughput limit and quotas
(:meth:`~webui.services.accounts.Accounts.admit`: ``Throttled``, ``QuotaExceeded``), all
before the insert; what was admitted is given back when the insert fails or an earlier
request with the same ``Idempotency-Key`` already queued the messages. The messages carry
the account's id (``messages.account_id``).

Recipients on the opt-out or block list are refused per recipient (``opted_out``) with one
lookup per request (:meth:`Sending.leave_out_suppressed`); the queue's core refuses them
again in the inserting transaction, whatever path a message takes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gatewayd.bus import Bus
from gatewayd.config import Settings
from gatewayd.events import WAKE, WakeUp
from gatewayd.numbers import InvalidNumber, normalise
from gatewayd.queue import InvalidMessage, NewMessage, PreparedMessage, enqueue
from gatewayd.queue.enqueue import RecipientProblem, ids_for_key, prepare_many
from gatewayd.queue.suppression import refusals
from gatewayd.queue.view import load_messages, message_json
from gatewayd.sms import MAX_PARTS
from gatewayd.store import Database, MessageStatus, PartStatus, modems, utc_now
from webui.audit import record
from webui.services.accounts import Accounts, route_to_allowed_modems
from webui.services.addressbook import BookRecipients, expand_recipients
from webui.services.caller import Caller
from webui.services.errors import Invalid
from webui.services.group_commit import (
    MAX_MESSAGES,
    AfterInsert,
    AuditEntry,
    GroupedSend,
    SendGroup,
    SideRows,
)
from webui.services.lifecycle import announce_queued, log_queued
from webui.services.numbers import number_problem, refusal_reason
from webui.services.preferences import Preferences
from webui.services.validation_pool import ValidationPool

MAX_RECIPIENTS = 10_000
"""Recipients of one request, at every front door (JSON, CSV rows, Kannel, the pages)."""

OFFLOAD_ABOVE = 200
"""Batches larger than this are validated in a worker thread (the largest also in a worker
process: :mod:`webui.services.validation_pool`) to keep the loop answering."""


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
    return as_prepared(
        prepare_many(template, recipients, default_region=default_region, known_modems=known_modems)
    )


def as_prepared(outcome: tuple[list[PreparedMessage], list[RecipientProblem]]) -> Prepared:
    messages, refused = outcome
    problems = [
        {"index": p.index, "to": p.to, "code": p.error.code, "message": str(p.error)}
        for p in refused
    ]
    return Prepared(messages, problems)


@dataclass(frozen=True)
class Composed:
    """A message as the compose page asks for it; ``send_at`` is ``datetime-local`` text and
    ``tz_offset`` the browser's ``getTimezoneOffset()`` (see :func:`parse_send_at`)."""

    text: str
    send_at: str = ""
    tz_offset: str = ""
    flash: bool = False
    status_report: bool = True
    modem: str | None = None


@dataclass(frozen=True)
class Sending:
    """Sending messages in one web process: its database, bus, settings, group committer,
    validation pool and client accounts."""

    db: Database
    bus: Bus
    settings: Settings
    group_commit: SendGroup
    validation_pool: ValidationPool
    accounts: Accounts
    preferences: Preferences = field(init=False)
    """The web UI's settings (the default country among them)."""

    def __post_init__(self) -> None:
        configured = self.settings.gateway.default_region
        object.__setattr__(self, "preferences", Preferences(self.db, configured))

    async def known_modem_names(self) -> set[str]:
        names = {modem.name for modem in self.settings.modems}
        async with self.db.read() as conn:
            names.update(row[0] for row in await conn.execute(select(modems.c.name)))
        return names

    async def leave_out_suppressed(self, prepared: Prepared, count: int) -> None:
        """Move the messages to opted-out or blocked recipients into ``problems`` (code
        ``opted_out``) with the index each had among the ``count`` recipients: one lookup.
        The queue's core refuses them anyway; this makes the refusal per recipient."""
        if not prepared.messages:
            return
        async with self.db.read() as conn:
            refused = await refusals(conn, [m.recipient for m in prepared.messages])
        if not refused:
            return
        taken = {problem["index"] for problem in prepared.problems}
        indexes = (index for index in range(count) if index not in taken)
        kept: list[PreparedMessage] = []
        for index, message in zip(indexes, prepared.messages, strict=False):
            reason = refused.get(message.recipient)
            if reason is None:
                kept.append(message)
                continue
            prepared.problems.append(
                {"index": index, "to": message.request.to, "code": "opted_out", "message": reason}
            )
        prepared.messages = kept
        prepared.problems.sort(key=lambda problem: int(problem["index"]))

    async def validate(
        self,
        template: NewMessage,
        recipients: Sequence[str],
        *,
        skip_invalid: bool,
        check_suppressions: bool = True,
    ) -> Prepared:
        """Every recipient checked before anything is written; with ``skip_invalid`` the
        invalid ones are left out (reported in ``problems``) unless none is valid. Opted-out
        and blocked recipients are problems too (``opted_out``)."""
        if len(recipients) > MAX_RECIPIENTS:
            raise Invalid(
                "too_many_recipients", f"at most {MAX_RECIPIENTS} recipients per request", "to"
            )
        known = await self.known_modem_names() if template.modem is not None else None
        region = await self.preferences.default_region()
        try:
            if len(recipients) > OFFLOAD_ABOVE:
                prepared = as_prepared(
                    await self.validation_pool.prepare(
                        template, recipients, default_region=region, known_modems=known
                    )
                )
            else:
                prepared = prepare_all(
                    template, recipients, default_region=region, known_modems=known
                )
        except InvalidMessage as exc:
            raise Invalid(exc.code, str(exc), exc.field) from None
        for problem in prepared.problems:
            if problem["code"] == "invalid_number":
                problem["reason"] = refusal_reason(problem["to"], region)
                problem["message"] = number_problem(problem["to"], problem["reason"])
        if check_suppressions:
            await self.leave_out_suppressed(prepared, len(recipients))
        if prepared.problems and (not skip_invalid or not prepared.messages):
            if len(recipients) == 1:
                problem = prepared.problems[0]
                detail = {k: problem[k] for k in ("to", "reason") if k in problem}
                raise Invalid(problem["code"], problem["message"], "to", **detail)
            raise Invalid(
                "invalid_recipients",
                f"{len(prepared.problems)} of {len(recipients)} recipients are invalid; fix them "
                'or send "skip_invalid": true',
                "to",
                problems=prepared.problems[:1000],
            )
        return prepared

    async def validate_rows(
        self, rows: Sequence[tuple[str, str]], priority: int, *, skip_invalid: bool
    ) -> Prepared:
        """Rows ``(number, text)`` of different texts, each validated on its own; problems are
        reported by row index."""
        combined = Prepared()
        for index, (number, text) in enumerate(rows):
            try:
                one = await self.validate(
                    NewMessage(to="", text=text, priority=priority),
                    [number],
                    skip_invalid=False,
                    check_suppressions=False,
                )
            except Invalid as exc:
                problem = {"index": index, "to": number, "code": exc.code, "message": exc.message}
                if "reason" in exc.detail:
                    problem["reason"] = exc.detail["reason"]
                combined.problems.append(problem)
                continue
            combined.messages.extend(one.messages)
        await self.leave_out_suppressed(combined, len(rows))
        if combined.problems and (not skip_invalid or not combined.messages):
            raise Invalid(
                "invalid_rows",
                f"{len(combined.problems)} of {len(rows)} rows are invalid",
                "file",
                problems=combined.problems[:1000],
            )
        return combined

    async def send_to_book(
        self, caller: Caller, composed: Composed, recipients: BookRecipients
    ) -> list[int]:
        """The compose page's send: typed numbers, contacts and members of groups (each number
        once), now or at ``send_at``; all valid or nothing queued. Returns the new ids."""
        async with self.db.read() as conn:
            numbers = await expand_recipients(conn, recipients)
        region = await self.preferences.default_region()
        if len(numbers) > OFFLOAD_ABOVE:
            numbers = await asyncio.to_thread(unique_numbers, numbers, region)
        else:
            numbers = unique_numbers(numbers, region)
        if not numbers:
            raise Invalid("no_recipients", "no recipients", "to")
        if len(numbers) > MAX_BOOK_RECIPIENTS:
            raise Invalid("too_many_recipients", "too many recipients", "to")
        send_at = parse_send_at(composed.send_at, composed.tz_offset)
        if send_at is not None and send_at < utc_now() - PAST_GRACE:
            raise Invalid("send_at_in_past", "the scheduled time is in the past", "send_at")
        template = NewMessage(
            to="",
            text=composed.text,
            send_at=send_at,
            flash=composed.flash,
            status_report=composed.status_report,
            modem=composed.modem,
        )
        prepared = await self.validate(template, numbers, skip_invalid=False)
        ids, _created = await self.queue_prepared(caller, prepared, key=None)
        return ids

    async def queue_prepared(
        self,
        caller: Caller,
        prepared: Prepared,
        *,
        key: str | None,
        extra: AfterInsert | None = None,
        side_rows: SideRows | None = None,
    ) -> tuple[list[int], bool]:
        """Insert (or find the earlier request's) messages; wake gatewayd when new ones went in.
        Returns (ids, created). ``extra`` runs in the messages' transaction; ``side_rows`` are
        inserted in it (one insert for a whole group of small sends)."""
        ids, created, _ = await self.queue_and_load(
            caller, prepared, key=key, extra=extra, load=False, side_rows=side_rows
        )
        return ids, created

    async def queue_and_load(
        self,
        caller: Caller,
        prepared: Prepared,
        *,
        key: str | None,
        extra: AfterInsert | None = None,
        load: bool = True,
        side_rows: SideRows | None = None,
    ) -> tuple[list[int], bool, list[dict[str, Any]]]:
        """:func:`queue_prepared`, also answering the messages as JSON (when ``load``): built from
        what was written when they are new, read back when an earlier request made them.
        The caller's account is enforced first (see the module's docstring)."""
        account = caller.account
        if (
            account is None
            or (account.unlimited and not account.allowed_modems)
            or (key is not None and await self._queued_before(caller, key))
        ):
            return await self._queue(caller, prepared, key, extra, load, side_rows)
        routed = route_to_allowed_modems(account, prepared.messages)
        if routed is not prepared.messages:
            prepared = Prepared(list(routed), prepared.problems)
        admission = await self.accounts.admit(account, len(prepared.messages))
        try:
            ids, created, loaded = await self._queue(caller, prepared, key, extra, load, side_rows)
        except Exception:
            await admission.give_back()
            raise
        if not created:
            await admission.give_back()
        return ids, created, loaded

    async def _queued_before(self, caller: Caller, key: str) -> bool:
        """Whether a request with this Idempotency-Key was queued already (its repetition is
        answered with the earlier messages and costs the account nothing)."""
        async with self.db.read() as conn:
            return bool(await ids_for_key(conn, caller.actor, key))

    async def _queue(
        self,
        caller: Caller,
        prepared: Prepared,
        key: str | None,
        extra: AfterInsert | None,
        load: bool,
        side_rows: SideRows | None = None,
    ) -> tuple[list[int], bool, list[dict[str, Any]]]:
        try:
            return await self._insert(caller, prepared, key, extra, load, side_rows)
        except InvalidMessage as exc:  # a number opted out since it was checked
            raise Invalid(exc.code, str(exc), exc.field) from None

    async def _insert(
        self,
        caller: Caller,
        prepared: Prepared,
        key: str | None,
        extra: AfterInsert | None,
        load: bool,
        side_rows: SideRows | None = None,
    ) -> tuple[list[int], bool, list[dict[str, Any]]]:
        account_id = caller.account.id if caller.account is not None else None
        if key is None and len(prepared.messages) <= MAX_MESSAGES:
            ids, now = await self.group_commit.submit(
                GroupedSend(
                    prepared.messages,
                    caller.actor,
                    partial(_audit_entry, caller, prepared),
                    extra,
                    account_id,
                    side_rows,
                )
            )
            return ids, True, queued_json(ids, prepared.messages, caller.actor, now) if load else []
        loaded: list[dict[str, Any]] = []
        db = self.db
        for attempt in (1, 2):
            now = utc_now()
            try:
                async with db.begin() as conn:
                    ids, created = await enqueue(
                        conn,
                        prepared.messages,
                        created_by=caller.actor,
                        idempotency_key=key,
                        now=now,
                        account_id=account_id,
                    )
                    if created:
                        entry = _audit_entry(caller, prepared, ids)
                        await record(
                            conn,
                            entry.actor,
                            entry.action,
                            entry.target,
                            entry.detail,
                            entry.client_address,
                        )
                        if extra is not None:
                            await extra(conn, ids)
                        if side_rows is not None:
                            await side_rows.write(conn, ids)
                    if load:
                        loaded = (
                            queued_json(ids, prepared.messages, caller.actor, now)
                            if created
                            else await load_in_chunks(conn, ids)
                        )
                break
            except IntegrityError:
                if attempt == 2 or key is None:
                    raise
                # Another request with the same Idempotency-Key won the race: answer with its ids.
        if created:
            log_queued(ids, prepared.messages, caller.actor)
            await self.bus.publish(
                WAKE, WakeUp.queued(len(ids), (m.request.modem for m in prepared.messages))
            )
            await announce_queued(self.bus, ids)
        return ids, created, loaded


def _audit_entry(caller: Caller, prepared: Prepared, ids: list[int]) -> AuditEntry:
    detail: dict[str, Any] = {"count": len(ids), "first_id": ids[0] if ids else None}
    if len(ids) == 1:
        detail["to"] = prepared.messages[0].recipient
    if prepared.problems:
        detail["skipped"] = len(prepared.problems)
    target = f"message:{ids[0]}" if len(ids) == 1 else f"batch:{ids[0] if ids else '-'}"
    return AuditEntry(caller.actor, "message.send", target, detail, caller.client_address)


class _QueuedRow:
    """A just-written ``messages`` row as :func:`message_json` reads it."""

    status = MessageStatus.QUEUED.value
    assigned_modem = None
    sent_at = None
    delivered_at = None
    error = None
    attempts = 0

    def __init__(
        self,
        message_id: int,
        p: PreparedMessage,
        created_by: str,
        created_at: datetime,
        batch_id: int | None,
    ) -> None:
        new = p.request
        self.id = message_id
        self.recipient = p.recipient
        self.text = new.text
        self.encoding = p.encoding
        self.segments = len(p.pdus)
        self.priority = new.priority
        self.send_at = new.send_at.astimezone(UTC) if new.send_at is not None else None
        self.flash = new.flash
        self.status_report = new.status_report
        self.modem = new.modem
        self.created_at = created_at
        self.created_by = created_by
        self.batch_id = batch_id


class _QueuedPart:
    status = PartStatus.QUEUED.value
    mr = None
    modem = None
    sent_at = None
    delivered_at = None
    error = None

    def __init__(self, seq: int) -> None:
        self.seq = seq


_PARTS = [
    [cast(Row[Any], _QueuedPart(seq)) for seq in range(1, total + 1)]
    for total in range(MAX_PARTS + 1)
]


def queued_json(
    ids: list[int], messages: Sequence[PreparedMessage], created_by: str, created_at: datetime
) -> list[dict[str, Any]]:
    """The messages just queued as ``load_messages`` would read them back, without the reads:
    every column not written is still at its default. Messages of one batch differ only in id
    and number, so each is the previous one's object with those two replaced."""
    batch_id = ids[0] if len(ids) > 1 else None
    out: list[dict[str, Any]] = []
    shape: tuple[Any, ...] = ()
    base: dict[str, Any] = {}
    for message_id, p in zip(ids, messages, strict=True):
        new = p.request
        same = (
            new.text,
            p.encoding,
            len(p.pdus),
            new.priority,
            new.send_at,
            new.flash,
            new.status_report,
            new.modem,
        )
        if same != shape:
            shape = same
            row = _QueuedRow(message_id, p, created_by, created_at, batch_id)
            base = message_json(cast(Row[Any], row), _PARTS[len(p.pdus)])
            out.append(base)
        else:
            out.append({**base, "id": message_id, "to": p.recipient})
    return out


async def load_in_chunks(conn: AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), 5000):
        out.extend(await load_messages(conn, ids[start : start + 5000]))
    return out


MAX_BOOK_RECIPIENTS = 5000
"""Recipients of one send from the compose page."""
PAST_GRACE = timedelta(minutes=1)
"""How far in the past a scheduled time typed on the compose page may be (the minute it was
typed in): anything earlier is refused, never sent at once unnoticed."""


def unique_numbers(numbers: list[str], region: str | None) -> list[str]:
    """``numbers`` in order, each number once however it was written (``+55 11…``, ``11…``);
    one that is not a valid number is kept as typed, for validation to report."""
    seen: set[str] = set()
    unique = []
    for number in numbers:
        try:
            key = normalise(number, region)
        except InvalidNumber:
            key = number
        if key not in seen:
            seen.add(key)
            unique.append(number)
    return unique


def parse_send_at(local: str, offset_minutes: str) -> datetime | None:
    """A scheduled send's time as the page gives it: ``datetime-local`` text plus the
    browser's ``getTimezoneOffset()``; None when not scheduled."""
    if not local:
        return None
    try:
        naive = datetime.fromisoformat(local)
    except ValueError:
        raise Invalid("invalid_send_at", "send_at is not a date and time", "send_at") from None
    try:
        offset = int(offset_minutes or "0")
    except ValueError:
        offset = 0
    if not -14 * 60 <= offset <= 14 * 60:
        offset = 0
    try:
        return (naive + timedelta(minutes=offset)).replace(tzinfo=UTC)
    except OverflowError:
        raise Invalid(
            "invalid_send_at", "send_at is outside the years 1 to 9999", "send_at"
        ) from None
