"""Sending claimed messages through one modem, part by part, under the at-most-once rule.

For each part: commit ``sending`` → AT+CMGS → commit ``sent`` with its MR. The commit that
records one part as sent also marks the next part of the same message as sending, so only one
database round trip stands between two AT+CMGS exchanges. What a modem error means for the
message is decided by the error's :class:`~gatewayd.modem.errors.ErrorAction`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from gatewayd.config import RetryPolicy
from gatewayd.modem.errors import ErrorAction, ModemError, SendOutcomeUnknown
from gatewayd.queue import ClaimedMessage, ClaimedPart, StatusChange
from gatewayd.queue import progress as p
from gatewayd.store import Database, DatabaseUnavailable, utc_now

log = structlog.get_logger(__name__)

SendPdu = Callable[[str, int], Awaitable[int]]
Publish = Callable[[StatusChange], Awaitable[None]]


class ModemNeedsAttention(Exception):
    """Raised after the message is settled, when the modem itself must be re-initialised."""

    def __init__(self, error: ModemError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class MessageSender:
    db: Database
    modem: str
    imsi: str | None
    send_pdu: SendPdu
    publish: Publish
    retry: RetryPolicy
    on_part_sent: Callable[[], None] = lambda: None

    async def send(self, message: ClaimedMessage) -> None:
        """Send every remaining part of ``message``; settle it whatever happens."""
        if not message.parts:
            async with self.db.begin() as conn:
                change = await p.roll_up(conn, message.id, now=utc_now())
            await self._announce(change)
            return
        parts = message.parts
        async with self.db.begin() as conn:
            await p.part_sending(
                conn, parts[0].id, message.id, modem=self.modem, imsi=self.imsi,
                now=utc_now(), first_of_try=True,
            )  # fmt: skip
        await self._announce(StatusChange(message.id, "sending"))
        for index, part in enumerate(parts):
            try:
                mr = await self.send_pdu(part.pdu, part.tpdu_length)
            except SendOutcomeUnknown as error:
                await self._outcome_unknown(message, part.id, error)
                raise ModemNeedsAttention(error) from error
            except ModemError as error:
                handed_over = message.any_part_handed_over or index > 0
                await self._refused(message, part.id, error, handed_over=handed_over)
                if error.action in (ErrorAction.REINITIALISE, ErrorAction.TRY_OTHER_MODEM):
                    raise ModemNeedsAttention(error) from error
                return
            self.on_part_sent()
            following = parts[index + 1] if index + 1 < len(parts) else None
            change = await self._record_sent(message.id, part.id, mr, following)
            await self._announce(change)

    async def _record_sent(
        self, message_id: int, part_id: int, mr: int, following: ClaimedPart | None
    ) -> StatusChange | None:
        """Commit the MR (and the next part as sending); the modem already sent the part, so
        a database outage here is waited out rather than lost."""
        delay = 0.1
        while True:
            now = utc_now()
            try:
                async with self.db.begin() as conn:
                    await p.part_sent(conn, part_id, mr=mr, modem=self.modem, now=now)
                    if following is None:
                        return await p.roll_up(conn, message_id, now=now)
                    await p.part_sending(
                        conn, following.id, message_id, modem=self.modem, imsi=self.imsi,
                        now=now, first_of_try=False,
                    )  # fmt: skip
                    return None
            except DatabaseUnavailable as error:
                log.warning(
                    "Database unavailable after a send; retrying",
                    modem=self.modem, message_id=message_id, mr=mr, error=str(error),
                )  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _outcome_unknown(
        self, message: ClaimedMessage, part_id: int, error: ModemError
    ) -> None:
        now = utc_now()
        reason = f"the modem took the part but gave no answer: {error}"
        log.warning(
            "Send outcome unknown", modem=self.modem, message_id=message.id, error=str(error)
        )
        async with self.db.begin() as conn:
            await p.part_unknown(conn, part_id, message.id, reason=reason, now=now)
            change = await p.roll_up(conn, message.id, now=now)
            if change is None:
                change = await p.retry_later(
                    conn, message.id, delay=timedelta(0), reason=reason, now=now,
                    keep_modem=True,
                )  # fmt: skip
        await self._announce(change)

    async def _refused(
        self, message: ClaimedMessage, part_id: int, error: ModemError, *, handed_over: bool
    ) -> None:
        now = utc_now()
        reason = str(error)
        action = error.action
        log.info(
            "Send refused",
            modem=self.modem,
            message_id=message.id,
            error=reason,
            action=action.name.lower(),
            attempt=message.attempts,
        )
        async with self.db.begin() as conn:
            await p.part_not_sent(conn, part_id)
            if action is ErrorAction.FAIL_MESSAGE:
                change = await p.fail_message(conn, message.id, reason=reason, now=now)
            elif message.attempts >= self.retry.max_attempts and action is ErrorAction.RETRY_LATER:
                change = await p.fail_message(
                    conn, message.id, reason=f"gave up after {message.attempts} attempts: {reason}",
                    now=now,
                )  # fmt: skip
            elif action is ErrorAction.RETRY_LATER:
                delay = timedelta(seconds=self.retry.delay_before(message.attempts + 1))
                change = await p.retry_later(
                    conn, message.id, delay=delay, reason=reason, now=now, keep_modem=handed_over
                )
            else:
                # The modem is at fault: another modem may take it now, unless parts already
                # left through this one (the recipient reassembles parts from one sender only).
                change = await p.retry_later(
                    conn, message.id, delay=timedelta(0), reason=reason, now=now,
                    avoid_modem=self.modem, keep_modem=handed_over,
                )  # fmt: skip
        await self._announce(change)

    async def _announce(self, change: StatusChange | None) -> None:
        if change is not None:
            await self.publish(change)
