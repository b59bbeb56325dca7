"""Two ``gatewayd run`` with one ``[gateway] host`` name on one PostgreSQL (two machines set up
alike by mistake, here two data folders): the second waits while the first's lease could still
expire, then stops with one line naming the other installation; the first runs on untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from gatewayd.store import Database, gateway_hosts
from tests.acceptance.core.procs import GATEWAYD, environment, run_command
from tests.support.daemons import DaemonProcess

pytestmark = pytest.mark.acceptance

SETTINGS = """[gateway]
host = "gw-twin"
data_dir = "{data}"
[gateway.lease]
expiry = 2.0
renew_interval = 0.5
safety_margin = 0.5
"""


def config(folder: Path) -> Path:
    folder.mkdir(parents=True)
    path = folder / "gatewayd.toml"
    path.write_text(SETTINGS.format(data=folder / "data"), encoding="utf-8")
    return path


async def test_a_second_host_with_the_same_name_is_refused(pg_url: str, tmp_path: Path) -> None:
    env = environment(SMSGW_DATABASE_URL=pg_url)
    first = DaemonProcess(
        "first", [GATEWAYD, "run", "--config", str(config(tmp_path / "one"))], tmp_path, env
    )
    db = Database(pg_url)
    try:
        await first.start()
        await first.wait_log("gatewayd started", timeout=60)
        code, out, err = await run_command(
            "run", "--config", str(config(tmp_path / "two")), env=env, timeout=60
        )
        assert code == 1, out + err
        *logged, line = err.strip().splitlines()  # its log (JSON lines), then the error
        assert all(entry.startswith("{") for entry in logged)
        assert any("Another gatewayd holds this host's lease" in entry for entry in logged)
        assert "another gatewayd runs as host 'gw-twin' on" in line
        assert "give this one another [gateway] host" in line
        assert "Traceback" not in err
        assert first.running
        async with db.read() as conn:
            epoch = (
                await conn.execute(
                    select(gateway_hosts.c.epoch).where(gateway_hosts.c.host == "gw-twin")
                )
            ).scalar_one()
        assert epoch == 1  # the first keeps its lease
    finally:
        await first.stop()
        await db.close()
