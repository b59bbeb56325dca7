"""What gatewayd does with a PDU a modem hands it: an SMS for the inbox or a delivery report.

Each PDU is committed to the database first; only then is the modem's stored copy deleted, so
a crash or a database outage in between leaves it on the SIM to be read again (and recognised
as a duplicate). A PDU that cannot be decoded is kept in the inbox as hex, never dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from gatewayd.events import LiveEvent, MessageReceived, MessageStatusChanged
from gatewayd.modem.interface import IncomingPdu
from gatewayd.queue import StatusChange
from gatewayd.queue.inbox import ReceivedMessage, store_incoming
from gatewayd.queue.reports import ReportRecorder, apply_status_report
from gatewayd.sms import Deliver, PduError, StatusReport, decode_pdu
from gatewayd.store import Database, incoming_messages, utc_now
from gatewayd.store.upsert import insert_ignoring_duplicates

log = structlog.get_logger(__name__)

Publish = Callable[[LiveEvent], Awaitable[None]]
Delete = Callable[[int, str], Awaitable[None]]


def received_event(message: ReceivedMessage) -> MessageReceived:
    return MessageReceived(
        id=message.id,
        sender=message.sender,
        text=message.text,
        modem=message.modem,
        received_at=message.received_at,
    )


def status_event(change: StatusChange) -> MessageStatusChanged:
    return MessageStatusChanged(
        id=change.message_id, status=change.status, error=change.error, at=utc_now()
    )


@dataclass
class IncomingHandler:
    db: Database
    modem: str
    imsi: Callable[[], str | None]
    publish: Publish
    delete: Delete
    reports: ReportRecorder | None = None
    """Shared by every modem's handler (group commit); a transaction per report when None."""

    async def handle(self, incoming: IncomingPdu) -> None:
        """Store ``incoming``, then delete it from the modem's memory when it came from there.

        Raises when the database cannot take it: the direct path then withholds AT+CNMA and
        the stored path leaves the PDU on the SIM for the next sweep.
        """
        event = await self._store(incoming)
        if incoming.storage is not None and incoming.index is not None:
            await self.delete(incoming.index, incoming.storage)
        if event is not None:
            await self.publish(event)

    async def _store(self, incoming: IncomingPdu) -> LiveEvent | None:
        now = utc_now()
        try:
            decoded = decode_pdu(incoming.pdu)
        except PduError as error:
            log.warning(
                "Malformed PDU from modem",
                modem=self.modem,
                error=str(error),
                pdu=incoming.pdu[:400],
            )
            async with self.db.begin() as conn:
                await insert_ignoring_duplicates(
                    conn,
                    incoming_messages,
                    {
                        "sender": "unknown",
                        "text": f"[undecodable PDU ({error}): {incoming.pdu}]",
                        "modem": self.modem,
                        "modem_imsi": self.imsi(),
                        "received_at": now,
                        "dedupe_key": _raw_key(incoming.pdu),
                    },
                )
            return None
        if isinstance(decoded, StatusReport):
            if self.reports is not None:
                outcome = await self.reports.apply(
                    decoded, modem=self.modem, imsi=self.imsi(), now=now
                )
            else:
                async with self.db.begin() as conn:
                    outcome = await apply_status_report(
                        conn, decoded, modem=self.modem, imsi=self.imsi(), now=now
                    )
            if not outcome.matched:
                log.info(
                    "Status report matches no message",
                    modem=self.modem,
                    mr=decoded.mr,
                    recipient=decoded.recipient,
                    state=decoded.state,
                )
            return status_event(outcome.change) if outcome.change else None
        if isinstance(decoded, Deliver):
            async with self.db.begin() as conn:
                received = await store_incoming(
                    conn, decoded, modem=self.modem, imsi=self.imsi(), now=now
                )
            return received_event(received) if received else None
        log.info("Ignored stored SMS-SUBMIT", modem=self.modem)
        return None


def _raw_key(pdu: str) -> str:
    return "raw:" + hashlib.sha256(pdu.encode()).hexdigest()[:60]
