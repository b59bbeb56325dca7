"""The test ports (:mod:`tests.support.ports`): below the kernel's ephemeral range, in this
worker's band, free, and another one each call."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support import ports


def ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_ports_are_below_the_ephemeral_range_in_this_workers_band() -> None:
    picked = [ports.free_port() for _ in range(50)]
    assert len(set(picked)) == 50
    assert all(ports._START <= port < ports._START + ports.BAND for port in picked)
    assert ephemeral_range()[0] >= ports.FIRST + ports.BANDS * ports.BAND


def test_a_port_in_use_is_passed_over() -> None:
    """Ports come round again after a band's worth of calls; the held ones are skipped."""
    held = []
    try:
        for _ in range(100):
            holder = socket.socket()
            holder.bind(("127.0.0.1", ports.free_port()))
            held.append(holder)
        held_ports = {holder.getsockname()[1] for holder in held}
        for _ in range(ports.BAND - 100):
            ports.free_port()
        again = ports.free_port()  # the band came round to the held ports: all passed over
        assert again not in held_ports
        assert ports.is_free(again)
        assert not ports.is_free(next(iter(held_ports)))
    finally:
        for holder in held:
            holder.close()
