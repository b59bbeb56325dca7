"""Fixtures: a scripted pty device and an `AtChannel` opened on its slave path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gatewayd.modem.channel import AtChannel, Unsolicited
from gatewayd.modem.errors import ModemDisconnected

from .fake_device import FakeDevice


class Recorder:
    """Collects unsolicited codes and disconnects; lets a test await the n-th one."""

    def __init__(self) -> None:
        self.events: list[Unsolicited] = []
        self.disconnects: list[ModemDisconnected] = []
        self._changed = asyncio.Event()

    def unsolicited(self, event: Unsolicited) -> None:
        self.events.append(event)
        self._changed.set()

    def disconnected(self, error: ModemDisconnected) -> None:
        self.disconnects.append(error)
        self._changed.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Unsolicited]:
        async def waiter() -> None:
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(waiter(), timeout)
        return self.events

    async def wait_disconnect(self, timeout: float = 5.0) -> ModemDisconnected:
        async def waiter() -> None:
            while not self.disconnects:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(waiter(), timeout)
        return self.disconnects[0]


@pytest.fixture
async def device() -> AsyncIterator[FakeDevice]:
    fake = FakeDevice()
    yield fake
    fake.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def channel(device: FakeDevice, recorder: Recorder) -> AsyncIterator[AtChannel]:
    chan = AtChannel("test", resync_timeout=1.0, settle_time=0.01)
    chan.add_listener(recorder.unsolicited)
    chan.add_disconnect_listener(recorder.disconnected)
    await chan.open(device.path)
    yield chan
    await chan.close()
