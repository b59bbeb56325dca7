"""Arbitrary bytes into the protocol never raise, and the channel still answers afterwards."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewayd.modem.channel import AtChannel, Unsolicited
from gatewayd.modem.errors import ModemError
from gatewayd.modem.transport import AtProtocol

AT_WORDS = [
    b"OK",
    b"ERROR",
    b"+CMT: ,5",
    b'+CMTI: "SM",1',
    b"> ",
    b"+CSQ: 9,9",
    b"\r\n",
    b"\r",
    b"\n",
    b"\x1a",
    b"\x1b",
    b"+CMS ERROR: 500",
    b"0011AABB",
    b"AT+CSQ",
    b"RING",
]
junk_chunks = st.lists(st.one_of(st.binary(max_size=64), st.sampled_from(AT_WORDS)), max_size=30)


class LoopbackModem(asyncio.Transport):
    """An in-memory transport that answers every command line with a fixed `+CSQ` answer."""

    def __init__(self, protocol: AtProtocol) -> None:
        super().__init__()
        self.protocol = protocol
        self.written = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.extend(data)
        if bytes(data).endswith(b"\r"):
            asyncio.get_running_loop().call_soon(
                self.protocol.data_received, b"\r\n+CSQ: 17,99\r\n\r\nOK\r\n"
            )

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        self.protocol.connection_lost(None)


async def _feed_then_command(chunks: list[bytes], one_byte: bool) -> tuple[str, ...]:
    channel = AtChannel("fuzz", settle_time=0.001)
    events: list[Unsolicited] = []
    channel.add_listener(events.append)
    protocol = AtProtocol(channel)
    protocol.connection_made(LoopbackModem(protocol))
    channel.attach(protocol)
    for chunk in chunks:
        if one_byte:
            for byte in chunk:
                protocol.data_received(bytes([byte]))
        else:
            protocol.data_received(chunk)
    response = await asyncio.wait_for(channel.command("AT+CSQ"), 5)
    return response.lines


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=junk_chunks, one_byte=st.booleans())
def test_garbage_never_breaks_the_channel(chunks: list[bytes], one_byte: bool) -> None:
    lines = asyncio.run(_feed_then_command(chunks, one_byte))
    assert lines == ("+CSQ: 17,99",)


class JunkFirstModem(LoopbackModem):
    """Answers the first command with junk before its real answer."""

    def __init__(self, protocol: AtProtocol, junk: bytes) -> None:
        super().__init__(protocol)
        self.junk = junk

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.junk and bytes(data).endswith(b"\r"):
            junk, self.junk = self.junk, b""
            asyncio.get_running_loop().call_soon(self.protocol.data_received, junk)
        super().write(data)


async def _junk_during_command(junk: bytes) -> list[str]:
    channel = AtChannel("fuzz", settle_time=0.001)
    protocol = AtProtocol(channel)
    protocol.connection_made(JunkFirstModem(protocol, junk))
    channel.attach(protocol)
    outcomes = []
    for _ in range(2):
        try:
            await asyncio.wait_for(channel.command("AT+CSQ", timeout=0.5), 5)
            outcomes.append("answered")
        except ModemError as error:
            outcomes.append(type(error).__name__)
    return outcomes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk=st.binary(max_size=200) | st.lists(st.sampled_from(AT_WORDS)).map(b"".join))
def test_junk_during_a_command_ends_it_and_the_next_one_works(junk: bytes) -> None:
    outcomes = asyncio.run(_junk_during_command(junk))
    assert outcomes[0] in ("answered", "AtCommandError", "AtTimeout")
    assert outcomes[1] == "answered"
