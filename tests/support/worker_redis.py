"""A private Redis server for each pytest-xdist worker.

Redis pub/sub channels are global to a server (not per database number), so two workers on the
shared server would hear each other's events. Under xdist (``PYTEST_XDIST_WORKER`` set) and with
no ``SMSGW_TEST_REDIS_SERVER`` given, :func:`start_for_this_worker` starts ``redis-server`` on a
free local port with no persistence, points ``SMSGW_TEST_REDIS_SERVER`` at it (before
``tests.fixtures_db`` reads it) and stops it when the worker exits. A plain ``pytest`` run keeps
using the shared server.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import time

import pytest

from tests.support.ports import free_port


def _wait_until_answering(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"redis-server on port {port} did not answer within 10 s")


def start_for_this_worker() -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ or "SMSGW_TEST_REDIS_SERVER" in os.environ:
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.exit("redis-server not found: install the Debian package redis-server", 4)
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--databases",
            "16",
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
    )
    atexit.register(process.kill)
    _wait_until_answering(port, process)
    os.environ["SMSGW_TEST_REDIS_SERVER"] = f"redis://127.0.0.1:{port}"
