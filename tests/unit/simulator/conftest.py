"""Fixtures for the simulated modems: a network of modems without ptys and a byte wire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gatewayd.simulator import SimNetwork, SimulatedModem


class Wire:
    """What a modem writes, collected; ``send`` returns what one input produced at once."""

    def __init__(self, modem: SimulatedModem) -> None:
        self.modem = modem
        self.output = bytearray()
        self._changed = asyncio.Event()
        modem.attach(self._write)

    def _write(self, data: bytes) -> None:
        self.output += data
        self._changed.set()

    def send(self, data: bytes | str) -> bytes:
        raw = data.encode() if isinstance(data, str) else data
        self.output.clear()
        self.modem.feed(raw)
        return bytes(self.output)

    async def expect(self, needle: bytes, timeout: float = 2.0) -> bytes:
        """Everything written up to and including ``needle``, which is consumed."""

        async def wait() -> bytes:
            while needle not in self.output:
                self._changed.clear()
                await self._changed.wait()
            end = self.output.index(needle) + len(needle)
            seen = bytes(self.output[:end])
            del self.output[:end]
            return seen

        return await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def network() -> AsyncIterator[SimNetwork]:
    net = SimNetwork()
    yield net
    await net.close()


@pytest.fixture
def pair(network: SimNetwork) -> tuple[Wire, Wire]:
    first, second = network.add_modems(2)
    return Wire(first), Wire(second)
