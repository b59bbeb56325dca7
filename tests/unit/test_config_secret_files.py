"""Secret settings from files: ``SMSGW_DATABASE_URL_FILE``, ``SMSGW_REDIS_URL_FILE`` and
``SMSGW_SECRET_KEY_FILE`` name a file holding the value (Docker secrets), and every mistake is
one line that names the variable and the file, never the secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd.config import SettingsError, load_settings

DB_URL = "postgresql://user:s3cret-pw@db:5432/sms_gateway"
REDIS_URL = "redis://:r3dis-pw@redis:6379/0"
KEY = "k" * 20 + "0123456789abcdefghijklmnop"


def secret_file(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / name
    path.write_text(value)
    return str(path)


def error_of(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(None, env)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_each_secret_setting_is_read_from_its_file(tmp_path: Path) -> None:
    env = {
        "SMSGW_DATABASE_URL_FILE": secret_file(tmp_path, "database_url", DB_URL + "\n"),
        "SMSGW_REDIS_URL_FILE": secret_file(tmp_path, "redis_url", REDIS_URL + "\n"),
        "SMSGW_SECRET_KEY_FILE": secret_file(tmp_path, "secret_key", KEY + "\n"),
    }
    settings = load_settings(None, env)
    assert settings.database.url == DB_URL
    assert settings.redis_url == REDIS_URL
    assert settings.web.secret_key == KEY


def test_a_file_overrides_the_settings_file_like_the_variable_does(tmp_path: Path) -> None:
    config = tmp_path / "gatewayd.toml"
    config.write_text('[database]\nurl = "sqlite:///x.db"\n[web]\nsecret_key = "from-the-file-x"\n')
    env = {
        "SMSGW_DATABASE_URL_FILE": secret_file(tmp_path, "database_url", DB_URL),
        "SMSGW_SECRET_KEY_FILE": secret_file(tmp_path, "secret_key", KEY),
    }
    settings = load_settings(str(config), env)
    assert settings.database.url == DB_URL
    assert settings.web.secret_key == KEY


def test_variable_and_file_together_are_refused(tmp_path: Path) -> None:
    message = error_of(
        {
            "SMSGW_SECRET_KEY": KEY,
            "SMSGW_SECRET_KEY_FILE": secret_file(tmp_path, "secret_key", KEY),
        }
    )
    assert message == "SMSGW_SECRET_KEY and SMSGW_SECRET_KEY_FILE are both set: keep one"


def test_missing_empty_and_unreadable_files_are_one_line(tmp_path: Path) -> None:
    absent = tmp_path / "absent"
    assert error_of({"SMSGW_DATABASE_URL_FILE": str(absent)}) == (
        f"SMSGW_DATABASE_URL_FILE ({absent}): no such file"
    )
    empty = secret_file(tmp_path, "empty", "\n")
    assert error_of({"SMSGW_REDIS_URL_FILE": empty}) == (
        f"SMSGW_REDIS_URL_FILE ({empty}): the file is empty"
    )
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe")
    assert error_of({"SMSGW_SECRET_KEY_FILE": str(binary)}) == (
        f"SMSGW_SECRET_KEY_FILE ({binary}): not UTF-8 text"
    )
    folder = tmp_path / "folder"
    folder.mkdir()
    assert "cannot read it" in error_of({"SMSGW_SECRET_KEY_FILE": str(folder)})


def test_a_bad_value_in_a_file_names_the_file_not_the_secret(tmp_path: Path) -> None:
    bad_db = secret_file(tmp_path, "database_url", "mysql://user:s3cret-pw@db/x")
    message = error_of({"SMSGW_DATABASE_URL_FILE": bad_db})
    assert message.startswith(f"SMSGW_DATABASE_URL_FILE ({bad_db}): unsupported database")
    assert "s3cret-pw" not in message
    bad_redis = secret_file(tmp_path, "redis_url", "http://:r3dis-pw@redis")
    message = error_of({"SMSGW_REDIS_URL_FILE": bad_redis})
    assert message.startswith(f"SMSGW_REDIS_URL_FILE ({bad_redis}): must look like redis://")
    assert "r3dis-pw" not in message
