"""Redis has a password: the compose file's own redis command, run with a real redis-server in
a private network namespace (so it can take port 6379 and the name ``redis``), refuses clients
without the password; the runbook's ``exec redis redis-cli info stats`` works through the
image's redis-cli wrapper; the compose health check passes; and the application, given the
``redis_url`` secret made by ``scripts/make-secrets.sh``, talks to it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.helpers import REPO, SCRIPTS, require
from tests.ops.test_compose import resolved

pytestmark = pytest.mark.ops

NAMESPACE_SCRIPT = r"""
set -euo pipefail
ip link set lo up
mount --bind "$HOSTS_FILE" /etc/hosts
sh -c "$REDIS_COMMAND" >"$WORK/redis.log" 2>&1 &
trap 'kill %1 2>/dev/null; wait' EXIT
for _ in $(seq 200); do
    [ "$("$REDIS_CLI" -p 6379 ping 2>/dev/null)" != "" ] && break
    sleep 0.05
done
echo "== anonymous"
"$REDIS_CLI" -h redis ping
echo "== runbook"
"$WORK/redis-cli" info stats | grep -c '^total_connections_received:'
echo "== healthcheck"
PATH="$WORK:$PATH" sh -c "$HEALTHCHECK" && echo healthy
echo "== application"
"$PYTHON" -c "$APP_PROBE"
"""

APP_PROBE = """
import asyncio
import redis.asyncio as redis
from gatewayd.config import load_settings

async def main() -> None:
    client = redis.from_url(load_settings(None).redis_url)
    try:
        print(await client.ping(), await client.publish("smsgw:wake", "{}"))
    finally:
        await client.aclose()

asyncio.run(main())
"""


def test_redis_refuses_clients_without_the_password(tmp_path: Path) -> None:
    require("unshare")
    real_cli = require("redis-cli")
    require("redis-server")
    secrets = tmp_path / "secrets"
    made = subprocess.run(
        [str(SCRIPTS / "make-secrets.sh"), "--dir", str(secrets), "--env-file", "/dev/null"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    redis = resolved()["services"]["redis"]
    assert redis["user"] == "redis"
    assert redis["command"][:2] == ["sh", "-c"]

    def here(text: str) -> str:
        """A container command as Docker gets it ($$ is compose's escape), with this test's
        paths for the container's."""
        return (
            text.replace("$$", "$")
            .replace("/run/secrets/", f"{secrets}/")
            .replace("/usr/local/bin/redis-cli", real_cli)
        )

    wrapper_source = next(
        v.split(":")[0] for v in redis["volumes"] if v.endswith(":/usr/local/sbin/redis-cli:ro")
    )
    assert Path(wrapper_source) == REPO / "docker/redis-cli.sh"
    wrapper = tmp_path / "redis-cli"
    wrapper.write_text(here(Path(wrapper_source).read_text()))
    wrapper.chmod(0o755)
    healthcheck = redis["healthcheck"]["test"]
    assert healthcheck[0] == "CMD-SHELL"
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost redis\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSGW_", "REDISCLI"))}
    env |= {
        "WORK": str(tmp_path),
        "HOSTS_FILE": str(hosts),
        "REDIS_CLI": real_cli,
        "REDIS_COMMAND": here(redis["command"][2]),
        "HEALTHCHECK": here(healthcheck[1]),
        "PYTHON": sys.executable,
        "APP_PROBE": APP_PROBE,
        "SMSGW_REDIS_URL_FILE": str(secrets / "redis_url"),
    }
    result = subprocess.run(
        ["unshare", "--mount", "--net", "bash", "-c", NAMESPACE_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (tmp_path / "redis.log").read_text() if (tmp_path / "redis.log").exists() else ""
    assert result.returncode == 0, result.stderr + log
    sections = dict(part.split("\n", 1) for part in result.stdout.split("== ")[1:])
    assert sections["anonymous"].startswith("NOAUTH"), sections
    assert sections["runbook"].strip() == "1"
    assert sections["healthcheck"].strip() == "healthy"
    assert sections["application"].strip() == "True 0"
    password = (secrets / "redis_password").read_text().strip()
    assert password not in log
