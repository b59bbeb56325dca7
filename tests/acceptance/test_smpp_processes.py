"""The SMPP server as the real commands run it: inside ``gatewayd run --web --simulate 2`` with
``SMSGW_SMPP_LISTEN`` set (a client binds, sends through a simulated modem, gets the receipt
and an incoming SMS, and is unbound when the daemon stops), and on its own as ``webui smpp``
(started, used, stopped; off, a taken port and a bad certificate each one line)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from gatewayd.smpp import CommandId, SubmitSm, parse_receipt
from gatewayd.sms.gsm7 import septets_to_text, text_to_septets
from gatewayd.store import Database, messages
from tests.acceptance.core.procs import Daemon, environment
from tests.support.daemons import migrate_here
from tests.support.ports import free_port
from tests.support.smpp import SmppClient, add_smpp_account, self_signed

pytestmark = pytest.mark.acceptance

WEBUI = str(Path(sys.executable).with_name("webui"))
PASSWORD = "secret1"


def submit(to: str, text: str) -> SubmitSm:
    return SubmitSm(
        sequence_number=0,
        source_addr="ERP",
        source_addr_ton=5,
        dest_addr_ton=1,
        destination_addr=to.lstrip("+"),
        registered_delivery=1,
        short_message=text_to_septets(text),
    )


async def test_embedded_smpp_sends_receives_and_unbinds_on_stop(tmp_path: Path) -> None:
    port = free_port()
    env = environment(
        SMSGW_LISTEN=f"127.0.0.1:{free_port()}", SMSGW_SMPP_LISTEN=f"127.0.0.1:{port}"
    )
    daemon = Daemon(("--web", "--simulate", "2"), env, tmp_path / "gatewayd.log", cwd=tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'data' / 'gateway.db'}")
    try:
        await daemon.start()
        assert f"SMPP server on 127.0.0.1:{port}\n" in daemon.output
        await add_smpp_account(db, "erp", PASSWORD, incoming_modems=["sim1"])
        async with await SmppClient.connect(port) as client:
            assert (await client.bind("erp", PASSWORD)).command_status == 0
            answer = await client.request(submit("+5511990000002", "olà via SMPP"))
            message_id = answer.message_id
            first = await client.next_delivered(timeout=30)
            second = await client.next_delivered(timeout=30)
            by_kind = {pdu.esm_class: pdu for pdu in (first, second)}
            receipt = parse_receipt(by_kind[0x04].short_message.decode("ascii"))
            assert (receipt.message_id, receipt.stat.value) == (message_id, "DELIVRD")
            incoming = by_kind[0x00]
            assert septets_to_text(incoming.short_message) == "olà via SMPP"
            assert incoming.destination_addr == "sim1"
            code, _ = await daemon.terminate()
            unbind = await asyncio.wait_for(client.requests.get(), 10)
            assert unbind.command_id == CommandId.UNBIND
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


async def test_webui_smpp_on_its_own(tmp_path: Path) -> None:
    database = tmp_path / "gateway.db"
    env = environment(SMSGW_DATABASE_URL=f"sqlite:///{database}")
    await migrate_here(f"sqlite:///{database}")
    db = Database(f"sqlite:///{database}")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        WEBUI,
        "smpp",
        env={**env, "SMSGW_SMPP_LISTEN": f"127.0.0.1:{port}"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = await asyncio.wait_for(process.stdout.readline(), 30)
        assert banner.decode() == f"SMPP server on 127.0.0.1:{port}\n"
        await add_smpp_account(db, "erp", PASSWORD)
        async with await SmppClient.connect(port) as client:
            assert (await client.bind("erp", PASSWORD)).command_status == 0
            answer = await client.request(submit("+5511987654321", "from webui smpp"))
            async with db.read() as conn:
                text = (
                    await conn.execute(
                        select(messages.c.text).where(messages.c.id == int(answer.message_id))
                    )
                ).scalar_one()
            assert text == "from webui smpp"
            process.send_signal(signal.SIGTERM)
            unbind = await asyncio.wait_for(client.requests.get(), 10)
            assert unbind.command_id == CommandId.UNBIND
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await db.close()


async def test_webui_smpp_mistakes_are_one_line(tmp_path: Path) -> None:
    database = tmp_path / "gateway.db"
    env = environment(SMSGW_DATABASE_URL=f"sqlite:///{database}")
    await migrate_here(f"sqlite:///{database}")
    code, out, _ = await webui("smpp", "--help", env=env)
    assert code == 0 and "SMSGW_SMPP_LISTEN" in out
    code, _, off = await webui("smpp", env=env)
    assert code == 1 and off.strip().endswith("or [smpp] listen") and off.count("\n") == 1
    certificate, key = self_signed(tmp_path / "tls")
    broken = tmp_path / "tls" / "other.pem"
    broken.write_text("not a key\n")
    config = tmp_path / "smpp.toml"
    config.write_text(
        f'[smpp]\ntls_listen = "127.0.0.1:{free_port()}"\n'
        f'tls_certificate = "{certificate}"\ntls_key = "{broken}"\n'
    )
    code, _, bad_tls = await webui("smpp", "--config", str(config), env=env)
    assert code == 1 and "cannot use" in bad_tls and "Traceback" not in bad_tls
    taken = free_port()
    holder = await asyncio.start_server(lambda r, w: None, "127.0.0.1", taken)
    try:
        code, _, in_use = await webui(
            "smpp", env={**env, "SMSGW_SMPP_LISTEN": f"127.0.0.1:{taken}"}
        )
    finally:
        holder.close()
    assert code == 1 and f"cannot listen on 127.0.0.1:{taken}" in in_use
    assert "Traceback" not in in_use
    assert key.exists()
