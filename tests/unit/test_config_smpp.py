"""The ``[smpp]`` settings: off by default, the listen addresses from the file or the
environment, TLS needing a readable certificate and key, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd.config import ListenAddress, SettingsError, load_settings


def load(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> object:
    path = tmp_path / "gatewayd.toml"
    path.write_text(body, encoding="utf-8")
    return load_settings(str(path), env or {})


def error_of(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as caught:
        load(tmp_path, body, env)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_off_unless_an_address_is_set(tmp_path: Path) -> None:
    settings = load_settings(None, {})
    assert not settings.smpp.enabled and settings.smpp.window == 10
    on = load_settings(None, {"SMSGW_SMPP_LISTEN": "0.0.0.0:2775"})
    assert on.smpp.enabled and on.smpp.listen == ListenAddress("0.0.0.0", 2775)


def test_the_file_and_the_environment(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("y")
    body = (
        '[smpp]\nlisten = "127.0.0.1:2775"\ntls_listen = "[::1]:3550"\n'
        f'tls_certificate = "{cert}"\ntls_key = "{key}"\nwindow = 50\nidle_timeout = 60\n'
        'default_alphabet = "latin1"\n'
    )
    settings = load(tmp_path, body, {"SMSGW_SMPP_LISTEN": "10.0.0.1:2776"})
    smpp = settings.smpp  # type: ignore[attr-defined]
    assert smpp.listen == ListenAddress("10.0.0.1", 2776)
    assert smpp.tls_listen == ListenAddress("::1", 3550)
    assert (smpp.tls_certificate, smpp.tls_key) == (cert, key)
    assert (smpp.window, smpp.idle_timeout, smpp.default_alphabet) == (50, 60.0, "latin1")


@pytest.mark.parametrize(
    ("body", "env", "expected"),
    [
        ('[smpp]\nlisten = "nowhere"\n', {}, "[smpp] listen: must be HOST:PORT such as 127.0.0"),
        ("", {"SMSGW_SMPP_LISTEN": "x:99999"}, "SMSGW_SMPP_LISTEN: must be HOST:PORT"),
        ('[smpp]\ntls_listen = "127.0.0.1:3550"\n', {}, "tls_certificate: is needed"),
        ('[smpp]\ntls_certificate = "/no/such.pem"\n', {}, "tls_certificate: no such file"),
        ("[smpp]\nwindow = 0\n", {}, "window: must be at least 1"),
        ("[smpp]\nwindow = 5000\n", {}, "window: must be at most 1000"),
        ("[smpp]\nidle_timeout = -1\n", {}, "idle_timeout: must be greater than 0"),
        ('[smpp]\ndefault_alphabet = "ascii"\n', {}, 'default_alphabet: must be "gsm"'),
        ("[smpp]\nwindw = 3\n", {}, "unknown key 'windw'"),
        (
            '[smpp]\nlisten = "127.0.0.1:2775"\n',
            {"SMSGW_SMPP_TLS_LISTEN": "127.0.0.1:2775"},
            "tls_certificate: is needed",
        ),
    ],
)
def test_mistakes_are_one_line(
    tmp_path: Path, body: str, env: dict[str, str], expected: str
) -> None:
    assert expected in error_of(tmp_path, body, env)
