"""Loopback TCP ports for the servers the tests start (web UIs, simulators' control APIs,
nginx, Kannel, private PostgreSQL and Redis servers).

A port the kernel hands out (``bind(("127.0.0.1", 0))``) lies in the ephemeral range
(``net.ipv4.ip_local_port_range``, 32768-60999 here), which every outgoing connection draws
from too: between the probe and the server's own bind, a connection to PostgreSQL or Redis
made by a parallel test may take it. :func:`free_port` picks from below that range instead,
from a band of its own for each pytest-xdist worker (and one for a plain run), starting at a
random place in the band so that two runs on one machine rarely meet, and checks that the
port is free when it is picked.
"""

from __future__ import annotations

import os
import random
import re
import socket
from itertools import count

FIRST = 10_000
BAND = 1_000
BANDS = 22  # 10000-31999: below the kernel's ephemeral range


def _band_start() -> int:
    worker = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    index = int(worker.group(1)) + 1 if worker else 0
    return FIRST + (index % BANDS) * BAND


_START = _band_start()
_steps = count(random.randrange(BAND))


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing uses right now, from this worker's band; each call
    gives another one."""
    for _ in range(BAND):
        port = _START + next(_steps) % BAND
        if is_free(port, host):
            return port
    raise RuntimeError(f"no free port in {_START}-{_START + BAND - 1}")
