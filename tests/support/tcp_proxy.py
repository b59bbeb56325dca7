"""A TCP proxy on loopback that a test can cut like a network partition, then restore.

:class:`PartitionProxy` listens on a free port and forwards each connection to ``upstream``.
:meth:`PartitionProxy.cut` stops moving bytes in both directions without closing anything: the
two ends see silence, as behind a dropped link (no reset, no FIN), and new connections are
accepted but go nowhere. :meth:`PartitionProxy.restore` moves everything held back and
connects the waiting newcomers: sockets that outlived the cut carry on, as after a short
partition. Runs in the test's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from tests.support.ports import free_port

CHUNK = 65536


@dataclass
class _Pipe:
    """One direction of one proxied connection."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    open_: asyncio.Event
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            while True:
                data = await self.reader.read(CHUNK)
                if not data:
                    break
                await self.open_.wait()  # held back while the link is cut
                self.writer.write(data)
                await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                await self.open_.wait()
                self.writer.close()


@dataclass
class PartitionProxy:
    upstream_host: str
    upstream_port: int
    port: int = field(default_factory=free_port)
    connections: int = 0
    _link: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _pipes: list[_Pipe] = field(default_factory=list)

    async def start(self) -> PartitionProxy:
        self._link.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    @property
    def cut_off(self) -> bool:
        return not self._link.is_set()

    def cut(self) -> None:
        self._link.clear()

    def restore(self) -> None:
        self._link.set()

    async def close(self) -> None:
        self._link.set()
        if self._server is not None:
            self._server.close()
        for pipe in self._pipes:
            if pipe.task is not None:
                pipe.task.cancel()
            with contextlib.suppress(Exception):
                pipe.writer.close()
        await asyncio.gather(
            *(p.task for p in self._pipes if p.task is not None), return_exceptions=True
        )

    async def _accept(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        await self._link.wait()  # a connection made during the cut goes nowhere until restored
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            client_writer.close()
            return
        for pipe in (
            _Pipe(client_reader, up_writer, self._link),
            _Pipe(up_reader, client_writer, self._link),
        ):
            pipe.task = asyncio.create_task(pipe.run())
            self._pipes.append(pipe)
