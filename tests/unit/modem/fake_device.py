"""A scripted AT device on the master side of a real pty, for the modem layer's unit tests.

The driver opens `device.path` (the pty slave) with pyserial-asyncio-fast; the device reads the
master fd with `loop.add_reader`, records every command and answers it from `answers` (exact
command text -> reply) or from a `handler` callable, which may also return `None` to stay silent
(a hang). After `AT+CMGS=<n>` it sends `> ` and collects the payload up to Ctrl-Z or ESC.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable

Reply = bytes | str | None
Handler = Callable[[str], Reply]

CTRL_Z = 0x1A
ESC = 0x1B


def ok(*lines: str) -> bytes:
    """A standard answer: each line framed by CRLF, then OK."""
    body = "".join(f"\r\n{line}\r\n" for line in lines)
    return (body + "\r\nOK\r\n").encode()


def final(text: str) -> bytes:
    return f"\r\n{text}\r\n".encode()


class FakeDevice:
    """See the module docstring."""

    def __init__(self, *, echo: bool = False, one_byte_at_a_time: bool = False) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.echo = echo
        self.one_byte_at_a_time = one_byte_at_a_time
        self.answers: dict[str, Reply] = {}
        self.handler: Handler | None = None
        self.prompt_reply: Callable[[str, str], Reply] = lambda _cmd, _pdu: ok("+CMGS: 7")
        self.send_prompt = True
        self.commands: list[str] = []
        self.payloads: list[str] = []
        self.escapes = 0
        self.raw_received = bytearray()
        self._buffer = bytearray()
        self._prompt_command: str | None = None
        self._waiters: list[tuple[Callable[[str], bool], asyncio.Future[str]]] = []
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.master, self._readable)
        self._closed = False

    # -- test helpers ----------------------------------------------------------------------

    def send(self, data: bytes | str) -> None:
        """Write to the driver, now (or one byte per loop turn)."""
        raw = data.encode() if isinstance(data, str) else data
        if self._closed:
            return
        if not self.one_byte_at_a_time:
            os.write(self.master, raw)
            return
        for position, byte in enumerate(raw):
            self._loop.call_later(0.0005 * position, self._write_one, bytes([byte]))

    def _write_one(self, byte: bytes) -> None:
        if not self._closed:
            os.write(self.master, byte)

    async def wait_for_command(self, predicate: Callable[[str], bool], timeout: float = 5) -> str:
        """Wait until a command matching `predicate` has been received; return it."""

        found = next((cmd for cmd in self.commands if predicate(cmd)), None)
        if found is not None:
            return found
        waiter: asyncio.Future[str] = self._loop.create_future()
        self._waiters.append((predicate, waiter))
        return await asyncio.wait_for(waiter, timeout)

    def disconnect(self) -> None:
        """Close the master side: the driver sees a hang-up."""
        if not self._closed:
            self._closed = True
            self._loop.remove_reader(self.master)
            os.close(self.master)

    def close(self) -> None:
        self.disconnect()
        with contextlib.suppress(OSError):
            os.close(self._slave)

    # -- device side -----------------------------------------------------------------------

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:
            data = b""
        if not data:
            return
        self.raw_received.extend(data)
        self._buffer.extend(data)
        self._process()

    def _process(self) -> None:
        while self._buffer:
            if self._prompt_command is not None:
                if not self._take_payload():
                    return
                continue
            if self._buffer[0] == ESC:
                self.escapes += 1
                del self._buffer[:1]
                continue
            end = self._buffer.find(b"\r")
            if end < 0:
                return
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            command = raw.decode("latin-1").strip().lstrip("\x1b")
            if command:
                self._handle_command(command, raw)

    def _take_payload(self) -> bool:
        for position, byte in enumerate(self._buffer):
            if byte in (CTRL_Z, ESC):
                payload = bytes(self._buffer[:position]).decode("latin-1")
                del self._buffer[: position + 1]
                command, self._prompt_command = self._prompt_command, None
                assert command is not None
                if byte == ESC:
                    self.escapes += 1
                    self.send(ok())
                    return True
                self.payloads.append(payload)
                if self.echo:
                    self.send(payload.encode() + bytes([CTRL_Z]))
                self._reply(self.prompt_reply(command, payload))
                return True
        return False

    def _handle_command(self, command: str, raw: bytes) -> None:
        self.commands.append(command)
        for predicate, waiter in list(self._waiters):
            if not waiter.done() and predicate(command):
                waiter.set_result(command)
                self._waiters.remove((predicate, waiter))
        if self.echo:
            self.send(raw + b"\r")
        if command.upper().startswith("AT+CMGS=") and command not in self.answers:
            if self.send_prompt:
                self._prompt_command = command
                self.send(b"\r\n> ")
            return
        if command.upper() in ("ATE0", "ATE1"):
            self.echo = command.upper() == "ATE1"
        if command in self.answers:
            self._reply(self.answers[command])
        elif self.handler is not None:
            self._reply(self.handler(command))
        else:
            self._reply(ok())

    def _reply(self, reply: Reply) -> None:
        if reply is not None:
            self.send(reply)
