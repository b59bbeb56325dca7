"""Shared helpers of the operations tests: repository paths and a copy of the production nginx
configuration rewritten to run unprivileged on loopback in a temp folder.

The production configuration is written for nginx 1.26 (``http2 on;``); the machines running
these tests may have Debian's nginx 1.22, which predates that directive (1.25.1). For such an
nginx the copy says the same thing the old way (``listen ... ssl http2``) and nothing else
changes."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port
from tests.support.tools import require_program

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
VENV_BIN = REPO / ".venv" / "bin"


def require(program: str) -> str:
    """The path of a program the test needs; if it is missing the module fails in one line
    naming the Debian package (scripts/system-deps.sh installs it)."""
    return require_program(program)


@dataclass(frozen=True)
class NginxSite:
    prefix: Path
    conf: Path
    http_port: int
    https_port: int
    access_log: Path
    error_log: Path


HTTP2_DIRECTIVE_SINCE = (1, 25, 1)


def nginx_version() -> tuple[int, ...]:
    result = subprocess.run([require("nginx"), "-v"], capture_output=True, text=True, check=True)
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", result.stderr)
    assert match, result.stderr
    return tuple(int(part) for part in match.groups())


def nginx_test_copy(
    tmp: Path,
    upstream: str,
    *,
    address: str = "127.0.0.1",
    ports: tuple[int, int] | None = None,
    names: tuple[str, ...] = ("127.0.0.1",),
    servers: Sequence[str] = (),
) -> NginxSite:
    """Copy nginx/ and ssl material into ``tmp`` with only container paths, listen addresses
    and ports and the upstream address changed; everything else is the production
    configuration. The certificate is made for ``names``. With ``servers``, ``upstream`` names
    a server group of those addresses (several web processes), declared in ``http``."""
    conf_dir = tmp / "conf"
    shutil.copytree(REPO / "nginx", conf_dir)
    ssl_dir = tmp / "ssl"
    logs = tmp / "logs"
    logs.mkdir()
    subprocess.run(
        [str(SCRIPTS / "make-self-signed-cert.sh"), "--dir", str(ssl_dir), *names],
        check=True,
        capture_output=True,
    )
    http_port, https_port = ports or (free_port(), free_port())
    replacements = {
        "/etc/nginx/sms-gateway/": f"{conf_dir}/",
        "/etc/nginx/ssl/": f"{ssl_dir}/",
        "/var/log/nginx/": f"{logs}/",
        "/var/run/nginx.pid": f"{tmp}/nginx.pid",
        '"web:8080";': f'"{upstream}";',
        "listen 80 ": f"listen {address}:{http_port} ",
        "listen 443 ": f"listen {address}:{https_port} ",
    }
    if nginx_version() < HTTP2_DIRECTIVE_SINCE:
        replacements["    http2 on;\n"] = ""
        replacements[" ssl default_server;"] = " ssl http2 default_server;"
    for path in conf_dir.rglob("*.conf"):
        text = path.read_text()
        for old, new in replacements.items():
            text = text.replace(old, new)
        path.write_text(text)
    main = conf_dir / "nginx.conf"
    text = main.read_text()
    group = "".join(f"        server {server};\n" for server in servers)
    # temp folders of an unprivileged run
    text = text.replace(
        "http {\n",
        "http {\n"
        + (f"    upstream {upstream} {{\n{group}    }}\n" if servers else "")
        + "".join(
            f"    {kind}_temp_path {tmp}/{kind}_temp;\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
        1,
    )
    main.write_text(text)
    return NginxSite(
        prefix=tmp,
        conf=main,
        http_port=http_port,
        https_port=https_port,
        access_log=logs / "access.log",
        error_log=logs / "error.log",
    )
