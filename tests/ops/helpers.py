"""Shared helpers of the operations tests: repository paths, free ports, and a copy of the
production nginx configuration rewritten to run unprivileged on loopback in a temp folder."""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.tools import require_program

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
VENV_BIN = REPO / ".venv" / "bin"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def nginx_test_copy(tmp: Path, upstream: str) -> NginxSite:
    """Copy nginx/ and ssl material into ``tmp`` with only container paths, listen ports and
    the upstream address changed; everything else is the production configuration."""
    conf_dir = tmp / "conf"
    shutil.copytree(REPO / "nginx", conf_dir)
    ssl_dir = tmp / "ssl"
    logs = tmp / "logs"
    logs.mkdir()
    subprocess.run(
        [str(SCRIPTS / "make-self-signed-cert.sh"), "--dir", str(ssl_dir), "127.0.0.1"],
        check=True,
        capture_output=True,
    )
    http_port, https_port = free_port(), free_port()
    replacements = {
        "/etc/nginx/sms-gateway/": f"{conf_dir}/",
        "/etc/nginx/ssl/": f"{ssl_dir}/",
        "/var/log/nginx/": f"{logs}/",
        "/var/run/nginx.pid": f"{tmp}/nginx.pid",
        '"web:8080";': f'"{upstream}";',
        "listen 80 ": f"listen 127.0.0.1:{http_port} ",
        "listen 443 ": f"listen 127.0.0.1:{https_port} ",
    }
    for path in conf_dir.rglob("*.conf"):
        text = path.read_text()
        for old, new in replacements.items():
            text = text.replace(old, new)
        path.write_text(text)
    main = conf_dir / "nginx.conf"
    text = main.read_text()
    # temp folders of an unprivileged run
    text = text.replace(
        "http {\n",
        "http {\n"
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
