"""The ``[smpp]`` table: where the SMPP server listens (plain and TLS) and how its binds behave.

The server is off unless ``listen`` (or ``SMSGW_SMPP_LISTEN``) or ``tls_listen`` (or
``SMSGW_SMPP_TLS_LISTEN``) is set; a TLS address needs ``tls_certificate`` and ``tls_key``,
both readable files. Every mistake is one line naming the table and key (or the variable).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from gatewayd.config.model import DEFAULT_ALPHABETS, ListenAddress, SmppSettings
from gatewayd.config.reader import SettingsError, TableReader

ENV_SMPP_LISTEN = "SMSGW_SMPP_LISTEN"
ENV_SMPP_TLS_LISTEN = "SMSGW_SMPP_TLS_LISTEN"

MAX_WINDOW = 1000


def read_smpp(
    table: TableReader, env: Mapping[str, str], parse_listen: Callable[[str], ListenAddress]
) -> SmppSettings:
    defaults = SmppSettings()
    listen = _listen(table, env, "listen", ENV_SMPP_LISTEN, parse_listen)
    tls_listen = _listen(table, env, "tls_listen", ENV_SMPP_TLS_LISTEN, parse_listen)
    certificate = _file(table, "tls_certificate")
    key = _file(table, "tls_key")
    if tls_listen is not None and (certificate is None or key is None):
        missing = "tls_certificate" if certificate is None else "tls_key"
        raise table.error(missing, "is needed when tls_listen (or SMSGW_SMPP_TLS_LISTEN) is set")
    if listen is not None and tls_listen is not None and listen == tls_listen:
        raise table.error("tls_listen", f"must differ from listen ({listen})")
    asked = table.string("default_alphabet", defaults.default_alphabet)
    alphabet = next((known for known in DEFAULT_ALPHABETS if known == asked), None)
    if alphabet is None:
        raise table.error("default_alphabet", f'must be "gsm" or "latin1", got {asked!r}')
    window = table.integer("window", defaults.window, minimum=1)
    if window > MAX_WINDOW:
        raise table.error("window", f"must be at most {MAX_WINDOW}, got {window}")
    settings = SmppSettings(
        listen=listen,
        tls_listen=tls_listen,
        tls_certificate=certificate,
        tls_key=key,
        window=window,
        idle_timeout=table.number("idle_timeout", defaults.idle_timeout),
        enquire_link_interval=table.number("enquire_link_interval", defaults.enquire_link_interval),
        response_timeout=table.number("response_timeout", defaults.response_timeout),
        bind_timeout=table.number("bind_timeout", defaults.bind_timeout),
        max_connections=table.integer("max_connections", defaults.max_connections, minimum=1),
        redelivery_delay=table.number("redelivery_delay", defaults.redelivery_delay),
        poll_interval=table.number("poll_interval", defaults.poll_interval),
        default_alphabet=alphabet,
    )
    table.finish()
    return settings


def _listen(
    table: TableReader,
    env: Mapping[str, str],
    key: str,
    variable: str,
    parse_listen: Callable[[str], ListenAddress],
) -> ListenAddress | None:
    in_file = table.string(key, None)
    from_env = env.get(variable, "").strip() or None
    chosen = from_env or in_file
    if chosen is None:
        return None
    try:
        return parse_listen(chosen)
    except ValueError as exc:
        problem = (
            str(exc).replace("127.0.0.1:8080", "127.0.0.1:2775").replace("[::1]:8080", "[::1]:2775")
        )
        if from_env:
            raise SettingsError(f"{variable}: {problem}") from None
        raise table.error(key, problem) from None


def _file(table: TableReader, key: str) -> Path | None:
    value = table.string(key, None)
    if value is None:
        return None
    path = Path(value).expanduser().absolute()
    if not path.is_file():
        raise table.error(key, f"no such file: {path}")
    if not os.access(path, os.R_OK):
        raise table.error(key, f"cannot read {path}")
    return path
