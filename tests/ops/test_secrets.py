"""Secrets through files: ``scripts/make-secrets.sh`` makes each secret the compose file names
(consistent URLs, private folder, kept on a second run, an older ``.env``'s values taken over);
no service gets a secret in its environment; the app reads them through ``SMSGW_*_FILE``; the
image's entrypoint refuses to start without them in one line."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gatewayd.config import load_settings
from tests.ops.helpers import REPO, SCRIPTS
from tests.ops.test_compose import resolved

pytestmark = pytest.mark.ops

MAKE_SECRETS = SCRIPTS / "make-secrets.sh"
SECRET_NAMES = {"postgres_password", "database_url", "redis_password", "redis_url", "secret_key"}


def make_secrets(folder: Path, env_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MAKE_SECRETS), "--dir", str(folder), "--env-file", str(env_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_takes_every_secret_from_a_file_in_secrets() -> None:
    config = resolved()
    assert {name: spec["file"] for name, spec in config["secrets"].items()} == {
        name: str(REPO / "secrets" / name) for name in SECRET_NAMES
    }
    services: dict[str, Any] = config["services"]
    for name in ("web", "gatewayd"):
        env = services[name]["environment"]
        assert env["SMSGW_DATABASE_URL_FILE"] == "/run/secrets/database_url"
        assert env["SMSGW_REDIS_URL_FILE"] == "/run/secrets/redis_url"
        assert env["SMSGW_SECRET_KEY_FILE"] == "/run/secrets/secret_key"
        assert {s["source"] for s in services[name]["secrets"]} == {
            "database_url",
            "redis_url",
            "secret_key",
        }
    assert services["db"]["environment"]["POSTGRES_PASSWORD_FILE"] == (
        "/run/secrets/postgres_password"
    )
    secret_looking = re.compile(r"(PASSWORD|SECRET|_URL|KEY)$")
    for name, service in services.items():
        for variable, value in (service.get("environment") or {}).items():
            assert not secret_looking.search(variable), f"{name}: {variable}={value}"


def test_make_secrets_makes_each_one_once(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    result = make_secrets(folder, tmp_path / "no.env")
    assert result.returncode == 0, result.stderr
    assert {p.name for p in folder.iterdir()} == SECRET_NAMES
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    values = {}
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o444, path.name
        values[path.name] = path.read_text()
        assert values[path.name].endswith("\n") and values[path.name].count("\n") == 1
    values = {k: v.strip() for k, v in values.items()}
    assert re.fullmatch(r"[0-9a-f]{48}", values["postgres_password"])
    assert re.fullmatch(r"[0-9a-f]{48}", values["redis_password"])
    assert re.fullmatch(r"[0-9a-f]{64}", values["secret_key"])
    assert values["database_url"] == (
        f"postgresql://user:{values['postgres_password']}@db:5432/sms_gateway"
    )
    assert values["redis_url"] == f"redis://:{values['redis_password']}@redis:6379/0"

    settings = load_settings(
        None,
        {
            "SMSGW_DATABASE_URL_FILE": str(folder / "database_url"),
            "SMSGW_REDIS_URL_FILE": str(folder / "redis_url"),
            "SMSGW_SECRET_KEY_FILE": str(folder / "secret_key"),
        },
    )
    assert settings.database.url == values["database_url"]
    assert settings.redis_url == values["redis_url"]
    assert settings.web.secret_key == values["secret_key"]

    again = make_secrets(folder, tmp_path / "no.env")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("keeping") == len(SECRET_NAMES)
    assert {p.name: p.read_text().strip() for p in folder.iterdir()} == values


def test_an_older_env_files_secrets_are_taken_over(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# an older stack\nPOSTGRES_PASSWORD='0123abcd0123abcd'\nSMSGW_SECRET_KEY="
        + "f" * 64
        + "\n"
    )
    folder = tmp_path / "secrets"
    result = make_secrets(folder, env_file)
    assert result.returncode == 0, result.stderr
    assert (folder / "postgres_password").read_text() == "0123abcd0123abcd\n"
    assert (folder / "database_url").read_text() == (
        "postgresql://user:0123abcd0123abcd@db:5432/sms_gateway\n"
    )
    assert (folder / "secret_key").read_text() == "f" * 64 + "\n"


def test_entrypoint_refuses_a_missing_secret_in_one_line(tmp_path: Path) -> None:
    # outside the image: no root-only steps (as in test_compose's entrypoint test)
    text = (REPO / "docker/entrypoint.sh").read_text().replace('[ "$(id -u)" = 0 ]', "false")
    entrypoint = tmp_path / "entrypoint.sh"
    entrypoint.write_text(text)
    entrypoint.chmod(0o755)
    present = tmp_path / "redis_url"
    present.write_text("redis://:x@redis:6379/0\n")
    env = {
        **os.environ,
        "SMSGW_REDIS_URL_FILE": str(present),
        "SMSGW_DATABASE_URL_FILE": str(tmp_path / "absent"),
    }
    result = subprocess.run(
        [str(entrypoint), "echo", "started"], capture_output=True, text=True, env=env, timeout=30
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"sms-gateway-entrypoint: SMSGW_DATABASE_URL_FILE: {tmp_path / 'absent'} is missing: "
        "run scripts/make-secrets.sh beside docker-compose.prod.yml\n"
    )
