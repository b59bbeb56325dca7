"""scripts/backup.sh: a backup -> change -> ``restore latest --yes`` round trip on a real
PostgreSQL database with the product's schema, the files the runbook names, retention,
the refusal to restore unasked, and the command lines of compose mode."""

from __future__ import annotations

import gzip
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.ops.helpers import SCRIPTS, require

pytestmark = pytest.mark.ops

BACKUP = SCRIPTS / "backup.sh"
PSQL = require("psql")

SEED = """
INSERT INTO messages (recipient, text, encoding, segments, status)
VALUES ('+5511990000001', 'olá mundo', 'ucs2', 1, 'delivered'),
       ('+5511990000002', 'second', 'gsm7', 1, 'queued');
INSERT INTO modems (name, host, device, state, signal_dbm, operator)
VALUES ('claro1', 'gw1', '/dev/smsgw/quectel-a1-at', 'online', -71, 'Claro BR');
"""

TABLES = ("messages", "modems", "alembic_version")


def psql(url: str, sql: str) -> str:
    result = subprocess.run(
        [PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "--dbname", url, "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def snapshot(url: str) -> dict[str, str]:
    return {table: psql(url, f"SELECT * FROM {table} ORDER BY 1") for table in TABLES}


def run_backup(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BACKUP), *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        start_new_session=True,  # no controlling terminal: confirmation cannot be typed
    )


@pytest.fixture
def backup_env(tmp_path: Path, pg_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "SMSGW_DATABASE_URL": pg_url,
        "SMSGW_BACKUP_DIR": str(tmp_path / "backups"),
    }


def test_backup_restore_round_trip(pg_url: str, backup_env: dict[str, str], tmp_path: Path) -> None:
    psql(pg_url, SEED)
    before = snapshot(pg_url)
    assert "olá mundo" in before["messages"]

    made = run_backup(backup_env)
    assert made.returncode == 0, made.stderr
    backups = tmp_path / "backups"
    stamped = sorted(backups.glob("[0-9]*_backup.sql.gz"))
    assert len(stamped) == 1
    assert stamped[0].name[:16].endswith("Z") and stamped[0].name[8] == "T"  # 20260102T030405Z
    latest = backups / "latest_backup.sql.gz"
    subprocess.run(["gunzip", "-t", str(latest)], check=True)  # the runbook's check
    assert gzip.decompress(latest.read_bytes()) == gzip.decompress(stamped[0].read_bytes())
    assert (latest.stat().st_mode & 0o077) == 0  # dumps are private

    psql(
        pg_url,
        "UPDATE messages SET text = 'tampered'; DELETE FROM modems;"
        " INSERT INTO messages (recipient, text, encoding, segments)"
        " VALUES ('+5511990000003', 'new', 'gsm7', 1)",
    )
    assert snapshot(pg_url) != before

    refused = run_backup(backup_env, "restore", "latest")
    assert refused.returncode == 1
    assert "--yes" in refused.stderr
    assert snapshot(pg_url) != before

    restored = run_backup(backup_env, "restore", "latest", "--yes")
    assert restored.returncode == 0, restored.stderr
    assert snapshot(pg_url) == before
    # the state before the restore was saved first
    assert len(list(backups.glob("*_pre_restore.sql.gz"))) == 1


def test_restore_of_a_damaged_file_changes_nothing(
    pg_url: str, backup_env: dict[str, str], tmp_path: Path
) -> None:
    psql(pg_url, SEED)
    before = snapshot(pg_url)
    broken = tmp_path / "broken.sql.gz"
    broken.write_bytes(gzip.compress(b"DROP TABLE messages CASCADE;\nTHIS IS NOT SQL;\n"))
    result = run_backup(backup_env, "restore", str(broken), "--yes")
    assert result.returncode == 1
    assert "restore failed" in result.stderr
    assert snapshot(pg_url) == before  # one transaction: the DROP was rolled back


def test_unreachable_database_writes_no_backup(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SMSGW_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/sms_gateway",
        "SMSGW_BACKUP_DIR": str(tmp_path / "backups"),
        "PGCONNECT_TIMEOUT": "2",
    }
    result = run_backup(env)
    assert result.returncode != 0
    assert "pg_dump failed" in result.stderr
    assert list((tmp_path / "backups").glob("*.gz")) == []


def test_retention_keeps_the_newest_by_count_and_age(
    backup_env: dict[str, str], tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    old_stamp = time.time() - 40 * 86400
    for day in range(1, 6):
        old = backups / f"202001{day:02d}T000000Z_backup.sql.gz"
        old.write_bytes(gzip.compress(b"-- old\n"))
        os.utime(old, (old_stamp, old_stamp))
    recent = backups / "20990101T000000Z_backup.sql.gz"  # sorts after anything made today
    recent.write_bytes(gzip.compress(b"-- recent\n"))
    env = {**backup_env, "SMSGW_BACKUP_KEEP": "3", "SMSGW_BACKUP_MAX_AGE_DAYS": "30"}
    result = run_backup(env)
    assert result.returncode == 0, result.stderr
    left = sorted(p.name for p in backups.glob("[0-9]*_backup.sql.gz"))
    assert recent.name in left
    assert len(left) == 2  # recent + today's; every 40-day-old one pruned
    assert all(not name.startswith("2020") for name in left)


def test_compose_mode_runs_the_runbook_commands(tmp_path: Path) -> None:
    stub_dir = tmp_path / "bin"
    stub_dir.mkdir()
    calls = tmp_path / "calls.log"
    stub = stub_dir / "docker-compose"
    stub.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        'case "$*" in *pg_dump*) echo "-- dump of sms_gateway"; echo "SELECT 1;" ;;\n'
        f"  *psql*) cat > {tmp_path}/restored.sql ;; esac\n"
    )
    stub.chmod(0o755)
    compose_file = tmp_path / "docker-compose.prod.yml"
    compose_file.write_text("services: {}\n")
    env = {
        **{k: v for k, v in os.environ.items() if k != "SMSGW_DATABASE_URL"},
        "PATH": f"{stub_dir}:{os.environ['PATH']}",
        "SMSGW_COMPOSE_FILE": str(compose_file),
        "SMSGW_BACKUP_DIR": str(tmp_path / "backups"),
        "SMSGW_ENV_FILE": str(tmp_path / "no-env-file"),
    }
    made = run_backup(env)
    assert made.returncode == 0, made.stderr
    assert gzip.decompress((tmp_path / "backups/latest_backup.sql.gz").read_bytes()).startswith(
        b"-- dump of sms_gateway"
    )
    restored = run_backup({**env, "SMSGW_BACKUP_BEFORE_RESTORE": "0"}, "restore", "latest", "--yes")
    assert restored.returncode == 0, restored.stderr
    lines = calls.read_text().splitlines()
    assert lines[0].startswith(f"-f {compose_file} exec -T db pg_dump -U user ")
    assert lines[0].endswith(" sms_gateway")
    assert lines[1].startswith(f"-f {compose_file} exec -T db psql -U user -d sms_gateway ")
    assert (tmp_path / "restored.sql").read_text() == "-- dump of sms_gateway\nSELECT 1;\n"
