"""How to run each real peer program against one simulated modem, entirely inside a work dir.

Owns: rendering each peer's config from ``configs/``, its spool/log directory layout, starting
and stopping its daemons as the current user, and the one way each peer is told to send.
Nothing here writes outside the work dir or reads the user's own configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.peers.helpers import (
    CommandResult,
    ManagedProcess,
    SimulatedModem,
    files_in,
    listening_on_loopback,
    render_config,
    run_command,
    tail,
    wait_until,
    wait_until_async,
)
from tests.support.ports import free_port


@dataclass
class GammuCli:
    """The ``gammu`` command line bound to one modem through its own config file."""

    config: Path
    log_path: Path

    @classmethod
    def prepare(cls, work_dir: Path, modem: SimulatedModem) -> GammuCli:
        log_path = work_dir / "gammu.log"
        config = render_config(
            "gammurc", work_dir / "gammurc", device=modem.device, log_file=log_path
        )
        return cls(config, log_path)

    async def run(self, *args: str, timeout: float = 60.0) -> CommandResult:
        return await run_command(["gammu", "-c", str(self.config), *args], timeout=timeout)

    def diagnostics(self) -> str:
        return tail(self.log_path, 60)


@dataclass
class GammuSmsd:
    """``gammu-smsd`` with the files backend; spool directories under ``spool``."""

    config: Path
    spool: Path
    process: ManagedProcess

    @classmethod
    def prepare(
        cls,
        work_dir: Path,
        modem: SimulatedModem,
        *,
        delivery_report: str = "sms",
        comm_timeout: int = 1,
        receive_frequency: int = 1,
        debug_level: int = 1,
    ) -> GammuSmsd:
        spool = work_dir / "spool"
        for name in ("inbox", "outbox", "sent", "error"):
            (spool / name).mkdir(parents=True, exist_ok=True)
        config = render_config(
            "gammu-smsdrc",
            work_dir / "gammu-smsdrc",
            device=modem.device,
            phone_id=f"modem{modem.index}",
            spool_dir=spool,
            log_file=work_dir / "smsd.log",
            delivery_report=delivery_report,
            comm_timeout=comm_timeout,
            receive_frequency=receive_frequency,
            debug_level=debug_level,
        )
        argv = ["gammu-smsd", "-c", str(config), "-p", str(work_dir / "gammu-smsd.pid")]
        return cls(config, spool, ManagedProcess("gammu-smsd", argv, work_dir / "logs"))

    @property
    def log_path(self) -> Path:
        return self.config.parent / "smsd.log"

    def folder(self, name: str) -> list[Path]:
        return files_in(self.spool / name)

    async def start(self) -> None:
        await self.process.start()
        await wait_until(
            lambda: (
                self.log_path.exists()
                and "Starting phone communication" in self.log_path.read_text(errors="replace")
            ),
            timeout=20,
            what="gammu-smsd to start",
            diagnostics=self.diagnostics,
        )

    async def stop(self) -> None:
        await self.process.stop()

    async def inject(self, number: str, text: str, *, report: bool = True) -> str:
        """Queue one text message with ``gammu-smsd-inject``; return the outbox file name."""
        argv = ["gammu-smsd-inject", "-c", str(self.config), "TEXT", number, "-text", text]
        if report:
            argv.append("-report")
        result = await run_command(argv, timeout=30)
        found = re.search(r"Written message with ID (\S+)", result.stdout + result.stderr)
        assert result.returncode == 0 and found, result.describe()
        return Path(found.group(1)).name

    def diagnostics(self) -> str:
        return "\n".join([tail(self.log_path, 60), self.process.output(10)])


@dataclass
class SmsTools:
    """smstools 3 ``smsd`` in the foreground (``-t``), spool directories under ``spool``."""

    config: Path
    spool: Path
    process: ManagedProcess

    @classmethod
    def prepare(
        cls, work_dir: Path, modem: SimulatedModem, *, delay_time: int = 1, log_level: int = 7
    ) -> SmsTools:
        spool = work_dir / "spool"
        for name in ("outgoing", "checked", "incoming", "failed", "sent", "report"):
            (spool / name).mkdir(parents=True, exist_ok=True)
        config = render_config(
            "smsd.conf",
            work_dir / "smsd.conf",
            device=modem.device,
            spool_dir=spool,
            delay_time=delay_time,
            log_level=log_level,
        )
        argv = ["smsd", f"-c{config}", "-t"]
        return cls(config, spool, ManagedProcess("smsd", argv, work_dir / "logs"))

    @property
    def log_path(self) -> Path:
        return self.spool / "smsd.log"

    def folder(self, name: str) -> list[Path]:
        return files_in(self.spool / name)

    async def start(self) -> None:
        await self.process.start()
        await wait_until(
            lambda: (
                self.log_path.exists()
                and "Modem is registered" in self.log_path.read_text(errors="replace")
            ),
            timeout=30,
            what="smsd to initialise the modem",
            diagnostics=self.diagnostics,
        )

    async def stop(self) -> None:
        await self.process.stop()

    def queue_message(self, name: str, number: str, text: str, *, report: bool = True) -> None:
        """Drop a message file into the outgoing spool, atomically (write, then rename)."""
        header = f"To: {number.lstrip('+')}\n"
        if report:
            header += "Report: yes\n"
        staging = self.spool / f".{name}.tmp"
        staging.write_text(f"{header}\n{text}\n", encoding="utf-8")
        staging.rename(self.spool / "outgoing" / name)

    def diagnostics(self) -> str:
        return "\n".join([tail(self.log_path, 80), self.process.output(10)])


@dataclass
class Kannel:
    """Kannel's ``bearerbox`` (smsc = at on one modem) plus an ``smsbox`` for sendsms."""

    config: Path
    log_dir: Path
    admin_port: int
    smsbox_port: int
    sendsms_port: int
    smsc_id: str
    bearerbox: ManagedProcess
    smsbox: ManagedProcess
    admin_password: str = "peers-admin"
    sendsms_user: str = "peers"
    sendsms_password: str = "peers-secret"

    @classmethod
    def prepare(
        cls, work_dir: Path, modem: SimulatedModem, *, mo_url: str, log_level: int = 0
    ) -> Kannel:
        log_dir = work_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        admin_port, smsbox_port, sendsms_port = free_port(), free_port(), free_port()
        smsc_id = f"modem{modem.index}"
        config = render_config(
            "kannel.conf",
            work_dir / "kannel.conf",
            admin_port=admin_port,
            admin_password=cls.admin_password,
            smsbox_port=smsbox_port,
            sendsms_port=sendsms_port,
            log_dir=log_dir,
            smsc_id=smsc_id,
            device=modem.device,
            my_number=modem.number,
            sendsms_user=cls.sendsms_user,
            sendsms_password=cls.sendsms_password,
            mo_url=mo_url,
            log_level=log_level,
        )
        return cls(
            config,
            log_dir,
            admin_port,
            smsbox_port,
            sendsms_port,
            smsc_id,
            ManagedProcess("bearerbox", ["bearerbox", "-v", "1", str(config)], log_dir),
            ManagedProcess("smsbox", ["smsbox", "-v", "1", str(config)], log_dir),
        )

    async def status(self) -> str:
        url = f"http://127.0.0.1:{self.admin_port}/status.txt"
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(url, params={"password": self.admin_password}) as response,
            ):
                return await response.text()
        except aiohttp.ClientError:
            return ""

    async def start(self) -> None:
        await self.bearerbox.start()
        # smsbox gives up at once when bearerbox does not accept it yet.
        await wait_until(
            lambda: listening_on_loopback(self.smsbox_port),
            timeout=20,
            what="bearerbox's smsbox port",
            diagnostics=self.diagnostics,
        )
        await self.smsbox.start()

        async def smsc_online() -> bool:
            status = await self.status()
            return any(self.smsc_id in line and "online" in line for line in status.splitlines())

        await wait_until_async(
            smsc_online,
            timeout=40,
            what="Kannel's AT smsc to come online",
            diagnostics=self.diagnostics,
        )

        await wait_until(
            lambda: listening_on_loopback(self.sendsms_port),
            timeout=20,
            what="smsbox's sendsms port",
            diagnostics=self.diagnostics,
        )

    async def stop(self) -> None:
        await self.smsbox.stop()
        await self.bearerbox.stop()

    async def sendsms(
        self, number: str, text: str, *, dlr_url: str | None = None, unicode: bool = False
    ) -> tuple[int, str]:
        """``GET /cgi-bin/sendsms``; with ``dlr_url``, every report type is asked for (mask 31)."""
        params = {
            "username": self.sendsms_user,
            "password": self.sendsms_password,
            "to": number,
            "text": text,
            "smsc": self.smsc_id,
            "charset": "UTF-8",
        }
        if dlr_url is not None:
            params |= {"dlr-mask": "31", "dlr-url": dlr_url}
        if unicode:
            params["coding"] = "2"
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms", params=params
            ) as response,
        ):
            return response.status, await response.text()

    def diagnostics(self) -> str:
        return "\n".join(
            [
                tail(self.log_dir / f"smsc-{self.smsc_id}.log", 60),
                tail(self.log_dir / "bearerbox.log", 20),
                tail(self.log_dir / "smsbox.log", 20),
            ]
        )
