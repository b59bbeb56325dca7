"""``gatewayd migrate`` as a user runs it: a real process against PostgreSQL and SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gatewayd.store.migrate import head_revision

GATEWAYD = str(Path(sys.executable).with_name("gatewayd"))
HEAD = head_revision()


def run_migrate(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMSGW_")}
    return subprocess.run(
        [GATEWAYD, "migrate", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_creates_then_keeps_the_postgresql_schema(pg_empty_url: str, tmp_path: Path) -> None:
    database = pg_empty_url.rsplit("/", 1)[1]
    first = run_migrate(tmp_path, SMSGW_DATABASE_URL=pg_empty_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        f"PostgreSQL at 127.0.0.1:5432/{database}: schema created at revision {HEAD}\n"
    )

    second = run_migrate(tmp_path, SMSGW_DATABASE_URL=pg_empty_url)
    assert second.stdout.endswith(f"schema already at revision {HEAD}\n")
    check = run_migrate(tmp_path, "--check", SMSGW_DATABASE_URL=pg_empty_url)
    assert check.returncode == 0 and f"schema is current ({HEAD})" in check.stdout


def test_default_sqlite_database_in_data_dir_and_json_log(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('[log]\nfile = "logs/app.log"\n', encoding="utf-8")
    behind = run_migrate(tmp_path, "--check", "--config", str(config))
    assert behind.returncode == 1
    assert behind.stderr.strip().splitlines() == [
        f"gatewayd migrate: error: SQLite at {tmp_path}/data/gateway.db has no gateway schema "
        "yet: run `gatewayd migrate`"
    ]
    assert not (tmp_path / "data" / "gateway.db").exists(), "a check creates no database file"

    done = run_migrate(tmp_path, "--config", str(config))

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "gateway.db").is_file()
    lines = [json.loads(line) for line in (tmp_path / "logs/app.log").read_text().splitlines()]
    migrated = [line for line in lines if line["event"] == "Schema migrated"]
    assert migrated and migrated[0]["after"] == HEAD and migrated[0]["before"] is None


def test_unreachable_postgresql_is_one_line_without_traceback(tmp_path: Path) -> None:
    result = run_migrate(
        tmp_path, SMSGW_DATABASE_URL="postgresql://gw:secret@127.0.0.1:1/sms_gateway"
    )
    assert result.returncode == 1
    assert result.stderr == (
        "gatewayd migrate: error: cannot connect to PostgreSQL at 127.0.0.1:1/sms_gateway: "
        "connection refused\n"
    )


def test_settings_mistake_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('[database]\nurl = "mysql://h/db"\n', encoding="utf-8")
    result = run_migrate(tmp_path, "--config", str(config))
    assert result.returncode == 1
    assert result.stderr == (
        f"gatewayd migrate: error: {config}: [database] url: unsupported database 'mysql': "
        "use postgresql://… (asyncpg) or sqlite:///…\n"
    )
