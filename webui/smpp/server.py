"""The SMPP listeners (plain, and TLS when a certificate is configured) and the binds they
serve.

Each accepted connection is a :class:`~webui.smpp.connection.Connection` served in its own
task; one connection's mistakes never reach another. Past ``max_connections`` a new
connection is closed at once. :class:`BindRegistry` knows the bound connections, tells the
outbox pump which receivers each account has, and counts binds for health and logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from gatewayd.config import ListenAddress, SmppSettings
from webui.smpp.connection import Connection, Limits, Operations

log = structlog.get_logger("webui.smpp")

STOP_GRACE = 5.0


class TlsError(ValueError):
    """The certificate or key of the TLS listener cannot be used; one line."""


def tls_context(certificate: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certificate, key)
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise TlsError(f"cannot use {certificate} with {key}: {reason}") from None
    return context


@dataclass
class BindRegistry:
    """The connections a server serves, and which of them are bound as what."""

    on_change: Callable[[], None] = lambda: None
    connections: set[Connection] = field(default_factory=set)
    _bound: set[Connection] = field(default_factory=set)

    def bound(self, connection: Connection) -> None:
        self._bound.add(connection)
        self.on_change()

    def closed(self, connection: Connection) -> None:
        self._bound.discard(connection)

    def answered(self, connection: Connection) -> None:
        self.on_change()

    def bound_connections(self) -> list[Connection]:
        return [c for c in self._bound if c.state.bound]

    def receivers(self) -> dict[int, list[Connection]]:
        """Account id → its bound receivers and transceivers here."""
        found: dict[int, list[Connection]] = {}
        for connection in self._bound:
            if connection.state.receives and connection.account_id is not None:
                found.setdefault(connection.account_id, []).append(connection)
        return found

    def counts(self) -> dict[str, int]:
        """Binds by mode (``transmitter``, ``receiver``, ``transceiver``)."""
        return dict(Counter(c.state.value for c in self._bound if c.state.bound))


class SmppServer:
    """Listens on ``[smpp] listen`` and ``tls_listen``; :meth:`stop` unbinds everyone."""

    def __init__(
        self, settings: SmppSettings, operations: Operations, registry: BindRegistry
    ) -> None:
        self.settings = settings
        self.operations = operations
        self.registry = registry
        self.limits = Limits(
            window=settings.window,
            idle_timeout=settings.idle_timeout,
            enquire_link_interval=settings.enquire_link_interval,
            response_timeout=settings.response_timeout,
            bind_timeout=settings.bind_timeout,
        )
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.addresses: list[tuple[str, int, bool]] = []
        """(host, port, tls) actually listened on (port 0 in the settings picks one)."""

    async def start(self) -> None:
        settings = self.settings
        try:
            if settings.listen is not None:
                await self._listen(settings.listen, None)
            if settings.tls_listen is not None:
                assert settings.tls_certificate is not None and settings.tls_key is not None
                context = tls_context(settings.tls_certificate, settings.tls_key)
                await self._listen(settings.tls_listen, context)
        except BaseException:
            await self._close_listeners()
            raise

    async def _listen(self, listen: ListenAddress, context: ssl.SSLContext | None) -> None:
        tls = context is not None

        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve(reader, writer, tls)

        server = await asyncio.start_server(
            accepted, listen.host, listen.port, ssl=context, backlog=128, reuse_address=True
        )
        self._servers.append(server)
        for sock in server.sockets:
            host, port = sock.getsockname()[:2]
            self.addresses.append((host, port, tls))
            log.info("SMPP server listening", listen=f"{host}:{port}", tls=tls)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tls: bool
    ) -> None:
        peer = _peer_address(writer.get_extra_info("peername"))
        if len(self.registry.connections) >= self.settings.max_connections:
            log.warning("SMPP connection refused: too many connections", peer=peer)
            writer.close()
            return
        connection = Connection(
            reader,
            writer,
            operations=self.operations,
            binds=self.registry,
            limits=self.limits,
            peer=peer,
            tls=tls,
        )
        self.registry.connections.add(connection)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await connection.serve()
        except Exception:
            log.exception("SMPP connection failed", peer=peer)
        finally:
            self.registry.connections.discard(connection)
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def stop(self) -> None:
        """Stop listening, answer what is in flight, unbind every connection."""
        await self._close_listeners()
        connections = list(self.registry.connections)
        if connections:
            await asyncio.gather(*(c.stop(STOP_GRACE) for c in connections), return_exceptions=True)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=STOP_GRACE)
        log.info("SMPP server stopped")

    async def _close_listeners(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), STOP_GRACE)
        self._servers.clear()


def _peer_address(peername: Any) -> str:
    if isinstance(peername, tuple) and peername:
        return str(peername[0])
    return "unknown"
