"""The email-to-SMS server as the real commands run it: inside ``gatewayd run --web --simulate
2`` with ``SMSGW_SMTP_LISTEN`` set (a mail from an allow-listed network becomes an SMS the
simulated network delivers), and on its own as ``webui smtp`` (started, used with AUTH over
STARTTLS, stopped; off, a taken port and a bad certificate each one line)."""

from __future__ import annotations

import asyncio
import signal
import smtplib
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from gatewayd.store import Database, accounts, messages, utc_now
from tests.acceptance.core.procs import Daemon, environment, statuses, wait_for
from tests.support.daemons import migrate_here
from tests.support.mail import mail, self_signed, trusting
from tests.support.ports import free_port
from webui.auth.apikeys import create_api_key

pytestmark = pytest.mark.acceptance

WEBUI = str(Path(sys.executable).with_name("webui"))


def send(
    port: int,
    to: str,
    subject: str,
    body: str,
    login: tuple[str, str] | None = None,
    cert: Path | None = None,
) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        if cert is not None:
            context = trusting(cert)
            context.check_hostname = False
            client.starttls(context=context)
            client.ehlo()
        if login is not None:
            client.login(*login)
        return client.send_message(mail([to], subject, body))


async def test_embedded_smtp_mail_becomes_a_delivered_sms(tmp_path: Path) -> None:
    port = free_port()
    env = environment(
        SMSGW_LISTEN=f"127.0.0.1:{free_port()}",
        SMSGW_SMTP_LISTEN=f"127.0.0.1:{port}",
        SMSGW_SMTP_ALLOWED_NETWORKS="127.0.0.0/8",
    )
    daemon = Daemon(("--web", "--simulate", "2"), env, tmp_path / "gatewayd.log", cwd=tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'data' / 'gateway.db'}")
    try:
        await daemon.start()
        assert f"email to SMS on 127.0.0.1:{port}\n" in daemon.output
        refused = await asyncio.to_thread(
            send, port, "+5511990000002@sms.example", "Alarm", "tank 2 low"
        )
        assert refused == {}

        async def delivered() -> bool:
            return set((await statuses(db)).values()) == {"delivered"}

        await wait_for(delivered, timeout=60, what="the SMS made from the mail delivered")
        async with db.read() as conn:
            texts = list((await conn.execute(select(messages.c.text))).scalars())
        assert texts == ["Alarm\ntank 2 low"]
        code, _ = await daemon.terminate()
        assert code == 0, daemon.log_tail()
    finally:
        await daemon.ensure_stopped()
        await db.close()


async def webui(*args: str, env: dict[str, str], timeout: float = 30) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        WEBUI, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_webui_smtp_on_its_own_with_auth_over_starttls(tmp_path: Path) -> None:
    database = tmp_path / "gateway.db"
    env = environment(SMSGW_DATABASE_URL=f"sqlite:///{database}")
    await migrate_here(f"sqlite:///{database}")
    db = Database(f"sqlite:///{database}")
    async with db.begin() as conn:
        account_id = (
            await conn.execute(
                insert(accounts)
                .values(name="erp", name_key="erp", created_at=utc_now(), created_by="test")
                .returning(accounts.c.id)
            )
        ).scalar_one()
        key = (await create_api_key(conn, "mail", "operator", account_id=account_id)).key
    cert, private = self_signed(tmp_path)
    config = tmp_path / "gateway.toml"
    config.write_text(f'[smtp]\ntls_certificate = "{cert}"\ntls_key = "{private}"\n')
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        WEBUI,
        "smtp",
        "--config",
        str(config),
        env={**env, "SMSGW_SMTP_LISTEN": f"127.0.0.1:{port}"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = await asyncio.wait_for(process.stdout.readline(), 30)
        assert banner.decode() == f"email to SMS on 127.0.0.1:{port}\n"
        refused = await asyncio.to_thread(
            send, port, "+5511987654321@x.example", "from webui smtp", "", ("erp", key), cert
        )
        assert refused == {}
        async with db.read() as conn:
            row = (await conn.execute(select(messages.c.text, messages.c.account_id))).one()
        assert tuple(row) == ("from webui smtp", account_id)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await db.close()


async def test_webui_smtp_mistakes_are_one_line(tmp_path: Path) -> None:
    database = tmp_path / "gateway.db"
    env = environment(SMSGW_DATABASE_URL=f"sqlite:///{database}")
    await migrate_here(f"sqlite:///{database}")
    code, out, _ = await webui("smtp", "--help", env=env)
    assert code == 0 and "SMSGW_SMTP_LISTEN" in out
    code, _, off = await webui("smtp", env=env)
    assert code == 1 and off.strip().endswith("or [smtp] listen") and off.count("\n") == 1
    certificate, _key = self_signed(tmp_path)
    broken = tmp_path / "other.pem"
    broken.write_text("not a key\n")
    config = tmp_path / "smtp.toml"
    config.write_text(
        f'[smtp]\nlisten = "127.0.0.1:{free_port()}"\n'
        f'tls_certificate = "{certificate}"\ntls_key = "{broken}"\n'
    )
    code, _, bad_tls = await webui("smtp", "--config", str(config), env=env)
    assert code == 1 and "cannot load the STARTTLS" in bad_tls and "Traceback" not in bad_tls
    assert bad_tls.count("\n") == 1
    taken = free_port()
    holder = await asyncio.start_server(lambda r, w: None, "127.0.0.1", taken)
    try:
        code, _, in_use = await webui(
            "smtp", env={**env, "SMSGW_SMTP_LISTEN": f"127.0.0.1:{taken}"}
        )
    finally:
        holder.close()
    assert code == 1 and f"cannot listen on 127.0.0.1:{taken}" in in_use
    assert "Traceback" not in in_use
