"""For the SMPP server's tests: accounts with SMPP credentials, a server running on a loopback
port against a test database, and a raw client that speaks our own codec over a socket.

::

    account_id = await add_smpp_account(db, "erp", "secret")
    async with smpp_server(settings) as server:          # server.port, server.running
        async with await SmppClient.connect(server.port) as client:
            answer = await client.bind("erp", "secret")
            resp = await client.request(SubmitSm(...))

The client answers the server's ``enquire_link`` and ``unbind`` itself (unless
:attr:`SmppClient.answers_requests` is false; either way they are queued in
:attr:`SmppClient.requests`) and queues every ``deliver_sm`` in :attr:`SmppClient.delivered`,
acknowledging it with ``ESME_ROK`` unless told otherwise (:attr:`SmppClient.ack_status`, or
``None``: no answer at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

from gatewayd.bus import Bus, InProcessBus
from gatewayd.config import ListenAddress, Settings, SmppSettings
from gatewayd.queue.progress import roll_up
from gatewayd.smpp.codec import decode, encode
from gatewayd.smpp.constants import CommandId, CommandStatus
from gatewayd.smpp.frames import FrameBuffer
from gatewayd.smpp.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    DeliverSmResp,
    EnquireLinkResp,
    Pdu,
    Unbind,
    UnbindResp,
)
from gatewayd.store import Database, accounts, message_parts, utc_now
from webui.auth.passwords import hash_password
from webui.smpp.runtime import RunningSmpp, start_smpp

BINDS = {"transmitter": BindTransmitter, "receiver": BindReceiver, "transceiver": BindTransceiver}


async def add_smpp_account(db: Database, system_id: str, password: str, **values: Any) -> int:
    """An account named ``system_id`` that binds with ``password``; its id."""
    row = {
        "name": system_id,
        "name_key": system_id.lower(),
        "system_id": system_id,
        "smpp_password_hash": hash_password(password),
        "created_at": utc_now(),
        "created_by": "test",
        **values,
    }
    async with db.begin() as conn:
        return int(
            (
                await conn.execute(insert(accounts).values(**row).returning(accounts.c.id))
            ).scalar_one()
        )


def with_smpp(settings: Settings, **smpp: Any) -> Settings:
    """``settings`` with an SMPP server on a free loopback port and fast timers."""
    base = SmppSettings(
        listen=ListenAddress("127.0.0.1", 0),
        poll_interval=0.2,
        redelivery_delay=0.5,
        response_timeout=2.0,
        bind_timeout=5.0,
    )
    return replace(settings, smpp=replace(base, **smpp))


@dataclass
class Server:
    running: RunningSmpp
    db: Database
    bus: Bus

    @property
    def port(self) -> int:
        return next(port for _, port, tls in self.running.server.addresses if not tls)

    @property
    def tls_port(self) -> int:
        return next(port for _, port, tls in self.running.server.addresses if tls)


@contextlib.asynccontextmanager
async def smpp_server(
    settings: Settings, db: Database, bus: Bus | None = None, **options: Any
) -> AsyncIterator[Server]:
    """The SMPP server on ``settings`` (see :func:`with_smpp`), stopped afterwards."""
    bus = bus or InProcessBus()
    running = await start_smpp(settings, db, bus, **options)
    try:
        yield Server(running, db, bus)
    finally:
        await running.stop()


class SmppClient:
    """A client over a raw socket, framing with our codec."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.sequence = itertools.count(1)
        self.waiting: dict[int, asyncio.Future[Pdu]] = {}
        self.delivered: asyncio.Queue[DeliverSm] = asyncio.Queue()
        self.requests: asyncio.Queue[Pdu] = asyncio.Queue()
        self.ack_status: int | None = CommandStatus.ESME_ROK
        self.answers_requests = True
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls, port: int, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
    ) -> SmppClient:
        reader, writer = await asyncio.open_connection(host, port, ssl=tls)
        return cls(reader, writer)

    async def __aenter__(self) -> SmppClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    def next_sequence(self) -> int:
        return next(self.sequence)

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def send(self, pdu: Pdu) -> None:
        self.writer.write(encode(pdu))

    async def request(self, pdu: Pdu, timeout: float = 10.0) -> Pdu:
        """Send ``pdu`` with a fresh sequence number; the answer to it."""
        sequence = self.next_sequence()
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        self.waiting[sequence] = future
        self.send(replace(pdu, sequence_number=sequence))  # type: ignore[type-var]
        return await asyncio.wait_for(future, timeout)

    async def answer_to(self, sequence: int, timeout: float = 10.0) -> Pdu:
        """The answer to a request sent by hand with ``sequence``."""
        future: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        self.waiting[sequence] = future
        return await asyncio.wait_for(future, timeout)

    async def bind(
        self, system_id: str, password: str, mode: str = "transceiver", timeout: float = 15.0
    ) -> Pdu:
        return await self.request(
            BINDS[mode](sequence_number=0, system_id=system_id, password=password), timeout
        )

    async def unbind(self) -> Pdu:
        return await self.request(Unbind(sequence_number=0))

    async def next_delivered(self, timeout: float = 15.0) -> DeliverSm:
        return await asyncio.wait_for(self.delivered.get(), timeout)

    async def _read(self) -> None:
        frames = FrameBuffer()
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    return
                for frame in frames.feed(data):
                    self._frame(decode(frame))
        finally:
            self.closed.set()
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection closed"))

    def _frame(self, pdu: Pdu) -> None:
        if pdu.is_response:
            future = self.waiting.pop(pdu.sequence_number, None)
            if future is not None and not future.done():
                future.set_result(pdu)
            return
        if pdu.command_id == CommandId.ENQUIRE_LINK:
            self.requests.put_nowait(pdu)
            if self.answers_requests:
                self.send(EnquireLinkResp(sequence_number=pdu.sequence_number))
            return
        if pdu.command_id == CommandId.UNBIND:
            self.requests.put_nowait(pdu)
            if self.answers_requests:
                self.send(UnbindResp(sequence_number=pdu.sequence_number))
            return
        if isinstance(pdu, DeliverSm):
            self.delivered.put_nowait(pdu)
            if self.ack_status is not None:
                self.send(
                    DeliverSmResp(
                        sequence_number=pdu.sequence_number, command_status=self.ack_status
                    )
                )
            return
        self.requests.put_nowait(pdu)


async def settle(
    db: Database,
    message_id: int,
    status: str,
    *,
    report_status: int | None = None,
    sent: bool = True,
) -> None:
    """Settle every part of a message as gatewayd does when its fate is known (``delivered``,
    ``failed``, ``expired``, ``unknown``), then roll the message up as gatewayd does: its
    status changes and its message-level event is written."""
    now = utc_now()
    values: dict[str, Any] = {"status": status, "report_status": report_status}
    if sent:
        values.update(sent_at=now, submitted_at=now, modem="sim0")
    if status == "delivered":
        values["delivered_at"] = now
    async with db.begin() as conn:
        await conn.execute(
            update(message_parts).where(message_parts.c.message_id == message_id).values(**values)
        )
        await roll_up(conn, message_id, now=now)


def self_signed(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` (an IP address) and its key, as PEM files."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smpp.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    certificate = directory / "cert.pem"
    private = directory / "key.pem"
    certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate, private


def client_tls(certificate: Path) -> ssl.SSLContext:
    """A client context that trusts only ``certificate``."""
    return ssl.create_default_context(cafile=str(certificate))
