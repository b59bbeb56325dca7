"""``SMSGW_METRICS_ALLOW``: who reads the metrics without logging in, set from the environment
(the Compose stack names the host as Docker's network shows it), replacing the file's list."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd.config import SettingsError, load_settings


def test_the_variable_replaces_the_files_list(tmp_path: Path) -> None:
    config = tmp_path / "gatewayd.toml"
    config.write_text('[web]\nmetrics_allow = ["10.0.0.0/8"]\n')
    env = {"SMSGW_METRICS_ALLOW": "127.0.0.1/32, 172.30.57.1/32,,::1/128"}
    settings = load_settings(str(config), env)
    assert settings.web.metrics_allow == ("127.0.0.1/32", "172.30.57.1/32", "::1/128")
    assert load_settings(str(config), {}).web.metrics_allow == ("10.0.0.0/8",)
    assert load_settings(None, {"SMSGW_METRICS_ALLOW": " "}).web.metrics_allow == (
        "127.0.0.1/32",
        "::1/128",
    )


def test_a_bad_network_is_one_line_naming_the_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(None, {"SMSGW_METRICS_ALLOW": "127.0.0.1/32,lan"})
    assert str(caught.value) == (
        "SMSGW_METRICS_ALLOW: 'lan' is not an IP address or network (CIDR)"
    )
