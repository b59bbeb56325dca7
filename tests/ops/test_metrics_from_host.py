"""The runbook's ``curl -s https://sms.yourdomain.com/api/metrics | jq .`` works from the host
as written, and the metrics stay closed to the LAN.

In the Compose stack the host reaches the containers from the network's gateway (``.1``),
nginx has a fixed address (``.10``), the web service trusts ``X-Forwarded-For`` from nginx only
and opens the metrics to loopback and the gateway. The live test builds that picture in a
private network namespace: the host is ``10.99.0.1`` (``SMSGW_NETWORK=10.99.0``), a LAN client
``10.99.0.2``; ``sms.yourdomain.com`` resolves to the host (a private ``/etc/hosts``), nginx runs
the production configuration on port 443 with a certificate curl trusts, in front of a real
``webui run`` configured with the values ``docker-compose config`` gives."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatewayd.config import load_settings
from tests.ops.helpers import nginx_test_copy, require
from tests.ops.test_compose import compose
from tests.support.daemons import migrate_here
from tests.support.ports import free_port

pytestmark = pytest.mark.ops

BIN = Path(sys.executable).parent
RUNBOOK_COMMAND = "curl -s https://sms.yourdomain.com/api/metrics | jq ."


def resolved(**env: str) -> dict[str, Any]:
    result = compose("config", env=env)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_web_trusts_only_nginx_and_opens_metrics_to_this_host_only() -> None:
    config = resolved()
    services = config["services"]
    subnet = ipaddress.ip_network(config["networks"]["default"]["ipam"]["config"][0]["subnet"])
    gateway = ipaddress.ip_address(config["networks"]["default"]["ipam"]["config"][0]["gateway"])
    nginx = ipaddress.ip_address(services["nginx"]["networks"]["default"]["ipv4_address"])
    assert gateway in subnet and nginx in subnet and gateway != nginx
    web = services["web"]["environment"]
    assert web["SMSGW_TRUSTED_PROXIES"] == f"{nginx}/32"
    settings = load_settings(None, {"SMSGW_METRICS_ALLOW": web["SMSGW_METRICS_ALLOW"]})
    allowed = {ipaddress.ip_network(n) for n in settings.web.metrics_allow}
    assert allowed == {
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network(f"{gateway}/32"),
    }
    # nginx publishes IPv4 only: Docker's userland proxy would show IPv6 clients as the gateway
    assert services["nginx"]["ports"] == ["0.0.0.0:80:80/tcp", "0.0.0.0:443:443/tcp"]
    # the host's own LAN address is one address, added only when the operator names it
    with_lan = resolved(HOST_LAN_ADDRESS="192.168.1.10")["services"]["web"]["environment"]
    assert with_lan["SMSGW_METRICS_ALLOW"].endswith(",192.168.1.10")


NAMESPACE_SCRIPT = r"""
set -euo pipefail
ip link set lo up
ip addr add 10.99.0.1/8 dev lo     # this host, as the containers see it (the gateway)
ip addr add 10.99.0.2/8 dev lo     # a LAN client
mount --bind "$HOSTS_FILE" /etc/hosts
"$BIN/webui" run >"$WORK/web.log" 2>&1 &
web=$!
"$NGINX" -p "$NGINX_PREFIX" -c "$NGINX_CONF" -e "$NGINX_PREFIX/logs/error.log" \
    -g 'daemon off;' 2>"$WORK/nginx.err" &
nginx=$!
trap 'kill $web $nginx 2>/dev/null; wait' EXIT
curl -s -o /dev/null --retry 600 --retry-delay 0 --retry-max-time 120 --retry-all-errors \
    --fail "http://127.0.0.1:$WEB_PORT/api/health"
echo "== runbook"
sh -c "$RUNBOOK_COMMAND"
echo "== lan"
curl -s --interface 10.99.0.2 -o /dev/null -w '%{http_code}\n' \
    https://sms.yourdomain.com/api/metrics
echo "== lan forged"
curl -s --interface 10.99.0.2 -H 'X-Forwarded-For: 10.99.0.1' -o /dev/null -w '%{http_code}\n' \
    https://sms.yourdomain.com/api/metrics
"""


def test_runbook_metrics_command_works_from_the_host_and_not_from_the_lan(tmp_path: Path) -> None:
    require("unshare")
    require("jq")
    network = "10.99.0"
    web_env = resolved(SMSGW_NETWORK=network)["services"]["web"]["environment"]
    web_port = free_port()
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    site = nginx_test_copy(
        nginx_dir,
        upstream=f"127.0.0.1:{web_port}",
        address=f"{network}.1",
        ports=(80, 443),
        names=("sms.yourdomain.com",),
    )
    hosts = tmp_path / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{network}.1 sms.yourdomain.com\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGW_")}
    env |= {
        "SMSGW_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
        "SMSGW_SECRET_KEY": secrets.token_urlsafe(48),
        "SMSGW_DATA_DIR": str(tmp_path / "data"),
        "SMSGW_LISTEN": f"127.0.0.1:{web_port}",
        # nginx reaches the web service from 127.0.0.1 here (from .10 in the stack)
        "SMSGW_TRUSTED_PROXIES": "127.0.0.1/32",
        "SMSGW_METRICS_ALLOW": web_env["SMSGW_METRICS_ALLOW"],
    }
    asyncio.run(migrate_here(env["SMSGW_DATABASE_URL"]))
    env |= {
        "BIN": str(BIN),
        "WORK": str(tmp_path),
        "WEB_PORT": str(web_port),
        "HOSTS_FILE": str(hosts),
        "NGINX": require("nginx"),
        "NGINX_PREFIX": str(site.prefix),
        "NGINX_CONF": str(site.conf),
        "RUNBOOK_COMMAND": RUNBOOK_COMMAND,
        # curl trusts the site's self-signed certificate as a real one would be trusted
        "CURL_CA_BUNDLE": str(site.prefix / "ssl" / "cert.pem"),
    }
    result = subprocess.run(
        ["unshare", "--mount", "--net", "bash", "-c", NAMESPACE_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr + (tmp_path / "web.log").read_text()
    sections = dict(part.split("\n", 1) for part in result.stdout.split("== ")[1:])
    metrics = json.loads(sections["runbook"])
    assert metrics["database_up"] is True
    assert metrics["queue"]["depth"] == 0
    assert sections["lan"].strip() == "401"
    assert sections["lan forged"].strip() == "401"
