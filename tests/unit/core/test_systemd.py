import socket
from pathlib import Path

from gatewayd.service.systemd import Notifier


def test_notifications_reach_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(2)
        notifier = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "20000000"})
        assert notifier.enabled
        assert notifier.watchdog_interval == 10.0
        notifier.ready("2 modems")
        assert server.recv(1024) == b"READY=1\nSTATUS=2 modems"
        notifier.watchdog()
        assert server.recv(1024) == b"WATCHDOG=1"


def test_without_systemd_nothing_happens() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.watchdog_interval is None
    notifier.ready("ignored")
