"""The ``[smtp]`` settings: off by default, the variables over the file, one-line mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd.config import ListenAddress, SettingsError, load_settings


def settings_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return str(path)


def test_off_unless_listen_is_set() -> None:
    assert not load_settings(None, env={}).smtp.enabled


def test_the_variables_win_over_the_file(tmp_path: Path) -> None:
    path = settings_file(
        tmp_path, '[smtp]\nlisten = "127.0.0.1:25"\nallowed_networks = ["10.0.0.0/8"]\n'
    )
    env = {"SMSGW_SMTP_LISTEN": "0.0.0.0:2525", "SMSGW_SMTP_ALLOWED_NETWORKS": "192.168.1.0/24"}
    smtp = load_settings(path, env=env).smtp
    assert smtp.listen == ListenAddress("0.0.0.0", 2525)
    assert smtp.allowed_networks == ("192.168.1.0/24",)


def test_senders_are_kept_in_lower_case(tmp_path: Path) -> None:
    path = settings_file(
        tmp_path, '[smtp]\nallowed_senders = ["Ops@Example.com", "@corp.example"]\n'
    )
    assert load_settings(path, env={}).smtp.allowed_senders == (
        "ops@example.com",
        "@corp.example",
    )


def test_reports_are_off_by_default_and_the_variable_wins(tmp_path: Path) -> None:
    assert load_settings(None, env={}).smtp.reports == "off"
    path = settings_file(tmp_path, '[smtp]\nreports = "Summary"\n')
    assert load_settings(path, env={}).smtp.reports == "summary"
    assert load_settings(path, env={"SMSGW_SMTP_REPORTS": "failures"}).smtp.reports == "failures"


@pytest.mark.parametrize(
    ("text", "env", "problem"),
    [
        ("", {"SMSGW_SMTP_LISTEN": "nonsense"}, "SMSGW_SMTP_LISTEN:"),
        ('[smtp]\nallowed_networks = ["10.0.0.300/8"]\n', {}, "allowed_networks"),
        ("", {"SMSGW_SMTP_ALLOWED_NETWORKS": "x"}, "SMSGW_SMTP_ALLOWED_NETWORKS:"),
        ('[smtp]\nallowed_senders = ["nobody"]\n', {}, "allowed_senders"),
        ('[smtp]\ntls_certificate = "/no/such.pem"\n', {}, "no such file"),
        ("[smtp]\nmax_recipients = 0\n", {}, "max_recipients"),
        ("[smtp]\nlisten_typo = 1\n", {}, "listen_typo"),
        ('[smtp]\nreports = "always"\n', {}, "reports"),
        ("", {"SMSGW_SMTP_REPORTS": "yes"}, "SMSGW_SMTP_REPORTS:"),
    ],
)
def test_mistakes_are_one_line(
    tmp_path: Path, text: str, env: dict[str, str], problem: str
) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(settings_file(tmp_path, text), env=env)
    assert problem in str(error.value) and "\n" not in str(error.value)


def test_a_certificate_needs_its_key(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(SettingsError, match="tls_key"):
        load_settings(settings_file(tmp_path, f'[smtp]\ntls_certificate = "{cert}"\n'), env={})
