"""Messages kept in the modem's memories: parsing `+CMGL` lists and `+CMGR` answers (PDU mode),
and the storage-aware list/read/delete operations over an `AtChannel`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from gatewayd.modem.channel import AtChannel, Response
from gatewayd.modem.errors import AtCommandError
from gatewayd.modem.lines import is_pdu_line

log = logging.getLogger(__name__)

STATUS_NAMES = {0: "unread", 1: "read", 2: "unsent", 3: "sent", 4: "all"}
EMPTY_SLOT_CODES = {321}  # +CMS ERROR: invalid memory index


@dataclass(frozen=True)
class StoredMessage:
    """One PDU in a modem memory. `status` is the `<stat>` number (0 unread ... 3 sent)."""

    storage: str
    index: int
    status: int
    pdu: str

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, str(self.status))


def _int_field(fields: list[str], position: int) -> int | None:
    if position >= len(fields):
        return None
    text = fields[position].strip()
    return int(text) if text.isascii() and text.isdigit() else None


def parse_cmgl(response: Response, storage: str) -> list[StoredMessage]:
    """`+CMGL: <index>,<stat>,[<alpha>],<length>` each followed by its PDU line."""
    messages: list[StoredMessage] = []
    header: list[str] | None = None
    for line in response.lines:
        if line.upper().startswith("+CMGL:"):
            header = line.split(":", 1)[1].split(",")
            continue
        if header is None:
            continue
        index, status = _int_field(header, 0), _int_field(header, 1)
        header = None
        if index is None or status is None or not is_pdu_line(line):
            log.warning("unparsable +CMGL entry before %r", line)
            continue
        messages.append(StoredMessage(storage, index, status, line.upper()))
    return messages


def parse_cmgr(response: Response, storage: str, index: int) -> StoredMessage | None:
    """`+CMGR: <stat>,[<alpha>],<length>` then the PDU; an empty slot has no header."""
    status: int | None = None
    for line in response.lines:
        if line.upper().startswith("+CMGR:"):
            status = _int_field(line.split(":", 1)[1].split(","), 0)
            continue
        if status is not None and is_pdu_line(line):
            return StoredMessage(storage, index, status, line.upper())
    return None


class MessageStore:
    """List, read and delete stored messages, switching the read memory only when needed."""

    def __init__(self, channel: AtChannel, default_storage: str | None = None) -> None:
        self._channel = channel
        self.default_storage = default_storage
        self._selected: str | None = None
        # Choosing the memory and using it are two commands: held together, so a +CMTI read
        # of "ME" cannot switch memories under a sweep deleting in "SM" (it deleted unread SMS).
        self._lock = asyncio.Lock()

    def forget_selection(self) -> None:
        self._selected = None

    async def select(self, storage: str | None) -> str:
        """Make `storage` (or the default) the read/list/delete memory; returns its name."""
        wanted = storage or self.default_storage
        if wanted is None:
            return "?"
        if wanted != self._selected:
            await self._channel.command(f'AT+CPMS="{wanted}"')
            self._selected = wanted
        return wanted

    async def list(self, storage: str | None = None, status: int = 4) -> list[StoredMessage]:
        async with self._lock:
            memory = await self.select(storage)
            response = await self._channel.command(f"AT+CMGL={status}")
        return parse_cmgl(response, memory)

    async def read(self, index: int, storage: str | None = None) -> StoredMessage | None:
        async with self._lock:
            memory = await self.select(storage)
            try:
                response = await self._channel.command(f"AT+CMGR={index}")
            except AtCommandError as error:
                if error.kind == "CMS" and error.code in EMPTY_SLOT_CODES:
                    return None
                raise
        return parse_cmgr(response, memory, index)

    async def delete(self, index: int, storage: str | None = None) -> None:
        async with self._lock:
            await self.select(storage)
            await self._channel.command(f"AT+CMGD={index}")
