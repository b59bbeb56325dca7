"""The SMPP benchmark's Jasmin peer without RabbitMQ: its telnet reader, its jCli client against
a console that answers as Jasmin 0.11.1's jCli did (bytes recorded from ``jasmind`` 0.11.1 on
this machine: the greeting with its option negotiation, the add dialogues, an ``Error:`` line),
the report rows it feeds, and a failed Jasmin part failing the run while keeping the other
figures. The real Jasmin runs only in ``make bench``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bench import jasmin_peer, report, run_all
from bench.common import PartFailed, write_result
from bench.jasmin_peer import DO, IAC, SB, SE, WILL, WONT, JCli, TelnetText, configure

GREETING = (
    b'\xff\xfd"\xff\xfd\x1f\xff\xfd\x03\xff\xfb\x01\x1bc\x1b[4hWelcome to Jasmin 0.11.1 console'
    b"\r\r\r\nType help or ? to list commands.\r\r\r\n\r\r\r\nSession ref: 3\r\r\r\n"
)
NEGOTIATION_REPLIES = bytes((IAC, WONT, 34, IAC, WONT, 31, IAC, WONT, 3, IAC, DO, 1))
USER_SHOWN = (
    "uid bench\r\r\r\ngid bench\r\r\r\nusername bench\r\r\r\n"
    "mt_messaging_cred authorization smpps_send True\r\r\r\n"
    "mt_messaging_cred quota smpps_throughput {throughput}\r\r\r\n"
    "smpps_cred authorization bind True\r\r\r\n"
)


def test_the_greeting_is_text_with_every_option_answered() -> None:
    text, replies = TelnetText().feed(GREETING)
    assert text.startswith(b"\x1bc\x1b[4hWelcome to Jasmin 0.11.1 console")
    assert IAC not in text
    assert replies == NEGOTIATION_REPLIES


def test_a_negotiation_cut_between_reads_is_answered_once_whole() -> None:
    telnet = TelnetText()
    pieces = [telnet.feed(GREETING[i : i + 1]) for i in range(len(GREETING))]
    assert b"".join(text for text, _ in pieces) == TelnetText().feed(GREETING)[0]
    assert b"".join(replies for _, replies in pieces) == NEGOTIATION_REPLIES


def test_a_doubled_iac_is_a_byte_and_a_subnegotiation_is_dropped() -> None:
    data = b"a" + bytes((IAC, IAC)) + b"b" + bytes((IAC, SB, 24, 1, IAC, SE)) + b"c"
    assert TelnetText().feed(data) == (b"a\xffbc", b"")
    assert TelnetText().feed(bytes((IAC, WILL))) == (b"", b"")


class Console:
    """A jCli stand-in over TCP: Jasmin 0.11.1's answers, an ``Error:`` for refused lines."""

    def __init__(self, throughput: str = "ND", refuse: tuple[str, ...] = ()) -> None:
        self.throughput = throughput
        self.refuse = refuse
        self.received = b""
        self.lines: list[str] = []
        self.closed = asyncio.Event()

    def answer(self, line: str) -> str:
        echo = f"{line}\r\r\r\n"
        if line == "":
            return "\r\r\r\njcli : "
        if line.endswith(" -a"):
            return echo + "Adding a new thing: (ok: save, ko: exit)\r\r\r\n> "
        if line == "ok":
            return echo + "Successfully added thing\r\r\r\njcli : "
        if line.startswith("user -s"):
            return echo + USER_SHOWN.format(throughput=self.throughput) + "jcli : "
        if line.split(" ")[0] in self.refuse:
            return echo + "Error: could not convert string to float: 'x'\r\r\r\n> "
        return echo + "> "

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(GREETING)
        while line := await reader.readline():
            self.received += line
            text = re.sub(rb"\xff[\xfb-\xfe].", b"", line).decode().rstrip("\r\n")
            self.lines.append(text)
            writer.write(self.answer(text).encode())
        writer.close()
        self.closed.set()

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[int]:
        server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        async with server:
            yield server.sockets[0].getsockname()[1]
            await asyncio.wait_for(self.closed.wait(), 10)  # the client hung up


async def test_configure_adds_group_user_connector_and_route_through_the_console() -> None:
    console = Console()
    async with console.listening() as port:
        await configure(port, "bench", "bench123")
    assert NEGOTIATION_REPLIES in console.received
    assert console.lines[1:5] == ["group -a", "gid bench", "ok", "user -a"]
    assert "password bench123" in console.lines
    route = console.lines.index("mtrouter -a")
    assert console.lines[route + 1 : route + 5] == [
        "type DefaultRoute",
        "connector smppc(sink)",
        "rate 0.00",
        "ok",
    ]
    assert console.lines[-1] == "user -s bench"


async def test_a_refused_line_fails_loudly() -> None:
    async with Console(refuse=("password",)).listening() as port:
        refused = r"(?s)jCli refused 'password bench123': .*\nError: could not"
        with pytest.raises(RuntimeError, match=refused):
            await configure(port, "bench", "bench123")


async def test_a_throughput_limit_on_the_user_fails_the_set_up() -> None:
    async with Console(throughput="10.0").listening() as port:
        with pytest.raises(RuntimeError, match="smpps_throughput ND"):
            await configure(port, "bench", "bench123")


async def test_an_add_without_success_fails() -> None:
    class Silent(Console):
        def answer(self, line: str) -> str:
            return "ok\r\r\r\njcli : " if line == "ok" else super().answer(line)

    async with Silent().listening() as port:
        console = await JCli.connect(port)
        try:
            with pytest.raises(RuntimeError, match="did not add the group"):
                await console.add("group", [("gid", "bench")])
        finally:
            console.close()


def test_a_missing_program_names_its_debian_package() -> None:
    with pytest.raises(RuntimeError, match=r"Debian package rabbitmq-server .*--bench"):
        jasmin_peer.require("/nonexistent/rabbitmq-server", "rabbitmq-server")


def _submit(per_s: float) -> dict[str, Any]:
    return {
        "per_s": per_s,
        "p99_ms": 20.0,
        "accepted": 1000,
        "jasmind_cpu_s": 0.4,
        "rabbitmq_cpu_s": 0.05,
        "redis_cpu_s": 0.02,
        "load_average_1m": 2.0,
    }


def test_jasmin_rows_give_rate_p99_and_cpu_per_submit() -> None:
    jasmin = {
        "measured": True,
        "jasmin": "0.11.1",
        "rabbitmq": "3.10.8",
        "submit": {"10": [_submit(r) for r in (2000.0, 1800.0, 2100.0)]},
    }
    [row] = report._smpp_rows({"databases": {}, "jasmin": jasmin})
    assert row[0] == (
        "7. SMPP submit_sm to Jasmin 0.11.1, one transceiver, window 10 "
        "(queued in RabbitMQ 3.10.8, not durable)"
    )
    assert row[1].startswith("2,000/s (1,800..2,100, 3 runs), p99 20.0 ms")
    assert "jasmind 400, RabbitMQ 50, Redis 20 µs CPU/submit; load 2.0" in row[1]


def test_a_failed_jasmin_shows_as_failed() -> None:
    jasmin = {"measured": False, "failed": True, "note": "failed: rabbitmq does not listen"}
    [row] = report._smpp_rows({"databases": {}, "jasmin": jasmin})
    assert row == ("7. SMPP, jasmin", "failed: rabbitmq does not listen", "–", "**failed**")


async def test_a_failed_part_fails_the_run_and_keeps_the_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_RESULTS_DIR", str(tmp_path))

    async def partly(quick: bool, runs: int) -> dict[str, Any]:
        result = {"databases": {"sqlite": {"submit": {}}}, "jasmin": {"failed": True}}
        write_result("smpp", result)
        raise PartFailed("jasmin: no RabbitMQ")

    monkeypatch.setitem(run_all.BENCHMARKS, "smpp", partly)
    assert await run_all.run(["smpp"], quick=True) == ["smpp"]
    kept = json.loads((tmp_path / "smpp.json").read_text(encoding="utf-8"))
    assert kept["databases"] == {"sqlite": {"submit": {}}}
    assert "failed" not in kept
