"""What each SMPP request does: a bind checked against the accounts, a submit queued through
the sending service (with its side-table row in the same transaction), ``query_sm`` and
``cancel_sm`` on the account's own messages. Every outcome is a response PDU; the errors of
the services are mapped by :mod:`webui.smpp.statuses`, and an internal failure (the database
down) answers ``ESME_RSYSERR`` for that request alone.

``submit_sm_resp`` is built only after :meth:`~webui.services.sending.Sending.queue_prepared`
returns, which is after the commit: its ``message_id`` is the message's id as
``GET /api/v1/messages/{id}`` knows it.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, replace
from typing import cast

import structlog
from sqlalchemy import select

from gatewayd.events import EVENTS, MessageStatusChanged
from gatewayd.smpp.constants import CommandStatus
from gatewayd.smpp.errors import StatusError
from gatewayd.smpp.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CancelSm,
    CancelSmResp,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    UnsuccessSme,
    response_for,
)
from gatewayd.smpp.text import DefaultAlphabet
from gatewayd.smpp.times import format_absolute
from gatewayd.store import Database, DatabaseUnavailable, modems, utc_now
from webui.auth.passwords import PasswordWorkBusy
from webui.services.accounts import Account, Accounts
from webui.services.caller import Caller
from webui.services.errors import BindRefused, ServiceError
from webui.services.sending import Sending
from webui.smpp import records
from webui.smpp.connection import BindOutcome
from webui.smpp.statuses import bind_status, message_state, send_status
from webui.smpp.submission import Address, Submission, read_submission

log = structlog.get_logger("webui.smpp")

S = CommandStatus
BindPdu = BindTransmitter | BindReceiver | BindTransceiver
MODEMS_CACHED_FOR = 60.0
"""Seconds the list of modems that parts of client-split messages are spread over is kept:
parts of one message, arriving within that time, find the same list."""


@dataclass(frozen=True)
class Bound:
    """Who a connection is bound as."""

    account: Account
    client_address: str

    @property
    def caller(self) -> Caller:
        return Caller(f"smpp:{self.account.system_id}", self.client_address, self.account)


class SmppOperations:
    """The requests of every connection of one server."""

    def __init__(
        self,
        db: Database,
        sending: Sending,
        accounts: Accounts,
        *,
        server_id: str = "smsgw",
        default_alphabet: DefaultAlphabet = "gsm",
    ) -> None:
        self.db = db
        self.sending = sending
        self.accounts = accounts
        self.server_id = server_id
        self.default_alphabet: DefaultAlphabet = default_alphabet
        self._modems: tuple[float, tuple[str, ...]] = (-MODEMS_CACHED_FOR, ())

    async def bind(self, request: BindPdu, peer: str) -> BindOutcome:
        try:
            account = await self.accounts.authenticate_smpp(
                request.system_id, request.password, peer
            )
        except BindRefused as refused:
            return BindOutcome(bind_status(refused), self.server_id)
        except PasswordWorkBusy:
            return BindOutcome(S.ESME_RBINDFAIL, self.server_id)
        except DatabaseUnavailable as exc:
            log.warning("SMPP bind failed: database unavailable", reason=str(exc))
            return BindOutcome(S.ESME_RSYSERR, self.server_id)
        return BindOutcome(
            S.ESME_ROK,
            self.server_id,
            bound_as=Bound(account, peer),
            account_id=account.id,
            system_id=account.system_id or "",
        )

    async def perform(self, request: Pdu, bound_as: object) -> Pdu:
        bound = cast(Bound, bound_as)
        try:
            if isinstance(request, SubmitSm):
                return await self.submit_sm(request, bound)
            if isinstance(request, SubmitMulti):
                return await self.submit_multi(request, bound)
            if isinstance(request, QuerySm):
                return await self.query_sm(request, bound)
            if isinstance(request, CancelSm):
                return await self.cancel_sm(request, bound)
        except StatusError as refused:
            return response_for(request, refused.status)
        except ServiceError as refused:
            return response_for(request, send_status(refused))
        except DatabaseUnavailable as exc:
            log.warning(
                "SMPP request failed: database unavailable",
                system_id=bound.account.system_id,
                reason=str(exc),
            )
            return response_for(request, S.ESME_RSYSERR)
        return response_for(request, S.ESME_RINVCMDID)

    # --- submitting ---------------------------------------------------------------------

    async def submit_sm(self, request: SubmitSm, bound: Bound) -> Pdu:
        submission = await self._read(request, bound)
        destination = submission.destinations[0]
        assert isinstance(destination, Address)
        # The opt-out and block lists are checked once for the whole group it is written in.
        prepared = await self.sending.validate(
            submission.template, [destination.number], skip_invalid=False, check_suppressions=False
        )
        rows = records.submits_rows(bound.account.id, submission.extras, [destination])
        ids, _ = await self.sending.queue_prepared(bound.caller, prepared, key=None, side_rows=rows)
        return SubmitSmResp(sequence_number=request.sequence_number, message_id=str(ids[0]))

    async def submit_multi(self, request: SubmitMulti, bound: Bound) -> Pdu:
        submission = await self._read(request, bound)
        refused: list[UnsuccessSme] = []
        addresses: list[Address] = []
        for destination in submission.destinations:
            if isinstance(destination, Address):
                addresses.append(destination)
            else:
                refused.append(UnsuccessSme(0, 0, destination[:20], S.ESME_RINVDLNAME))
        if not addresses:
            return response_for(request, S.ESME_RINVDLNAME)
        prepared = await self.sending.validate(
            submission.template, [a.number for a in addresses], skip_invalid=True
        )
        bad = {problem["index"]: problem for problem in prepared.problems}
        for index in sorted(bad):
            address = addresses[index]
            status = _problem_status(bad[index]["code"])
            refused.append(UnsuccessSme(address.ton, address.npi, address.address, status))
        sent_to = [a for index, a in enumerate(addresses) if index not in bad]
        rows = records.submits_rows(bound.account.id, submission.extras, sent_to)
        ids, _ = await self.sending.queue_prepared(bound.caller, prepared, key=None, side_rows=rows)
        return SubmitMultiResp(
            sequence_number=request.sequence_number,
            message_id=str(ids[0]),
            unsuccess_smes=tuple(refused),
        )

    async def _read(self, request: SubmitSm | SubmitMulti, bound: Bound) -> Submission:
        submission = read_submission(request, now=utc_now(), default_alphabet=self.default_alphabet)
        part = submission.template.part_of
        if part is None or submission.template.modem is not None:
            return submission
        # The parts of a client-split message must leave by one modem (the phone joins parts
        # by sender): each part names the same modem, chosen from its reference.
        candidates = bound.account.allowed_modems or await self._modem_names()
        if not candidates:
            return submission
        key = f"{bound.account.id}:{submission.extras.source.address}:{part.ref}:{part.total}"
        modem = candidates[zlib.crc32(key.encode()) % len(candidates)]
        return replace(submission, template=replace(submission.template, modem=modem))

    async def _modem_names(self) -> tuple[str, ...]:
        loaded_at, names = self._modems
        if time.monotonic() - loaded_at < MODEMS_CACHED_FOR:
            return names
        async with self.db.read() as conn:
            rows = (await conn.execute(select(modems.c.name, modems.c.state))).all()
        online = sorted(row.name for row in rows if row.state == "online")
        names = tuple(online or sorted(row.name for row in rows))
        self._modems = (time.monotonic(), names)
        return names

    # --- message management -------------------------------------------------------------------

    async def query_sm(self, request: QuerySm, bound: Bound) -> Pdu:
        message_id = _message_id(request.message_id)
        async with self.db.read() as conn:
            found = await records.state_of(conn, bound.account.id, message_id)
        if found is None:
            return response_for(request, S.ESME_RQUERYFAIL)
        return QuerySmResp(
            sequence_number=request.sequence_number,
            message_id=request.message_id,
            final_date=format_absolute(found.final_at) if found.final_at else "",
            message_state=message_state(found.status, ever_sent=found.ever_sent),
            error_code=min(found.error_code, 255),
        )

    async def cancel_sm(self, request: CancelSm, bound: Bound) -> Pdu:
        caller = bound.caller
        cancelled: list[int] = []
        async with self.db.begin() as conn:
            if request.message_id:
                ids = [_message_id(request.message_id)]
            else:
                if not request.source_addr:
                    raise _Refused(S.ESME_RCANCELFAIL, "cancel_sm without message_id or source")
                ids = await records.queued_matching(
                    conn, bound.account.id, request.source_addr, request.destination_addr
                )
            for message_id in ids:
                why_not = await records.cancel_queued(
                    conn,
                    bound.account.id,
                    message_id,
                    actor=caller.actor,
                    client=bound.client_address,
                )
                if why_not is not None and request.message_id:
                    return response_for(request, S.ESME_RCANCELFAIL)
                if why_not is None:
                    cancelled.append(message_id)
        if not cancelled:
            return response_for(request, S.ESME_RCANCELFAIL)
        now = utc_now()
        for message_id in cancelled:
            try:
                await self.sending.bus.publish(
                    EVENTS,
                    MessageStatusChanged(id=message_id, status="cancelled", error=None, at=now),
                )
            except Exception:  # the event is a hint; the database has the cancel
                log.warning("SMPP cancel not announced", message_id=message_id)
        return CancelSmResp(sequence_number=request.sequence_number)


def _message_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise _Refused(S.ESME_RINVMSGID, f"message_id {text!r} is not one of ours")
    return int(text)


class _Refused(StatusError):
    """A request refused by the operation itself."""


def _problem_status(code: str) -> int:
    return send_status(ServiceError(code, code))
