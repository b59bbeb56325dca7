"""Is a listen address (the web UI's, the SMPP server's) free? Asked before a command changes
anything, so a taken port is one line (``port 8080 in use: set SMSGW_LISTEN …``) and not a
traceback after the database, the first admin and the simulated modems were made."""

from __future__ import annotations

import errno
import socket

from gatewayd.config import ListenAddress
from gatewayd.config.command_line import CliError


def check_listen_address(listen: ListenAddress, variable: str = "SMSGW_LISTEN") -> None:
    """Bind (and at once close) a socket on every address ``listen`` names, as the server
    will; a :class:`CliError` saying what to change (``variable``) when one cannot be bound."""
    try:
        found = socket.getaddrinfo(
            listen.host, listen.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise CliError(f"cannot listen on {listen}: {exc.strerror}: set {variable}") from None
    for family, kind, proto, _, address in found:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise CliError(_refusal(listen, exc, variable)) from None


def _refusal(listen: ListenAddress, exc: OSError, variable: str) -> str:
    if exc.errno == errno.EADDRINUSE:
        other = ListenAddress(listen.host, listen.port + 1 if listen.port < 65535 else 8081)
        return f"port {listen.port} in use: set {variable} to a free address, e.g. {other}"
    return f"cannot listen on {listen}: {exc.strerror or exc}: set {variable}"
