"""The ``webui`` console script as users run it: users, API keys, security-check, run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.integration.web.conftest import SECRET
from tests.support.ports import free_port

WEBUI = str(Path(sys.executable).with_name("webui"))


def run(
    args: list[str], env: dict[str, str], stdin: str | None = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WEBUI, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60, cwd=cwd
    )


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite: every command is a fresh process, and the database side is tested elsewhere."""
    return sqlite_url


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SMSGW_DATABASE_URL": db_url,
        "SMSGW_SECRET_KEY": SECRET,
        "SMSGW_LOG_FILE": str(tmp_path / "app.log"),
    }


def test_users_from_stdin_and_generated(env: dict[str, str]) -> None:
    piped = run(["create-user", "maria", "--role", "operator"], env, "a long enough secret\n")
    assert piped.returncode == 0, piped.stderr
    generated = run(["create-user", "root", "--role", "admin"], env, "")
    assert generated.returncode == 0
    password = generated.stdout.strip().splitlines()[-1]
    assert len(password) >= 20
    duplicate = run(["create-user", "maria", "--role", "viewer"], env, "another secret pw\n")
    assert duplicate.returncode == 1
    assert duplicate.stderr.count("\n") == 1 and "already exists" in duplicate.stderr
    weak = run(["create-user", "bob", "--role", "viewer"], env, "short\n")
    assert weak.returncode == 1 and "Traceback" not in weak.stderr
    listed = run(["list-users"], env)
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["USERNAME", "ROLE", "LAST", "LOGIN", "LOCKED"]
    assert any(line.split()[:2] == ["maria", "operator"] for line in lines)


def test_api_key_printed_last_and_revocable(env: dict[str, str]) -> None:
    created = run(["create-api-key", "erp", "--role", "operator"], env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("smsgw_") and len(key) > 40
    bad_role = run(["create-api-key", "x", "--role", "admin"], env)
    assert bad_role.returncode == 2
    revoked = run(["revoke-api-key", "erp"], env)
    assert revoked.returncode == 0
    again = run(["revoke-api-key", "erp"], env)
    assert again.returncode == 1 and "no single live API key" in again.stderr


def test_security_check_findings(env: dict[str, str], tmp_path: Path) -> None:
    weak = {
        **env,
        "SMSGW_SECRET_KEY": "changeme",
        "SMSGW_LISTEN": "0.0.0.0:8080",
        "SMSGW_TRUSTED_PROXIES": "127.0.0.1/32,10.0.0.0/8",
    }
    run(["create-user", "admin", "--role", "admin"], env, "")
    result = run(["security-check"], weak, cwd=tmp_path)
    assert result.returncode == 1
    assert "secret key" in result.stdout
    assert "must be changed" in result.stdout
    assert "0.0.0.0:8080" in result.stdout
    assert "trusted_proxies contains 10.0.0.0/8" in result.stdout
    assert "127.0.0.1/32" not in result.stdout
    clean_env = {**env, "SMSGW_LISTEN": "127.0.0.1:8080"}
    run(["set-password", "admin"], env, "a very good password 1\n")
    clean = run(["security-check"], clean_env, cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout
    assert "no findings" in clean.stdout


def test_security_check_flags_a_certificate_near_expiry(
    env: dict[str, str], tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sms.example")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=60))
        .not_valid_after(now + timedelta(days=10))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "ssl").mkdir()
    (tmp_path / "ssl" / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    result = run(["security-check"], env, cwd=tmp_path)
    assert result.returncode == 1
    assert "expires in" in result.stdout


def test_run_refuses_without_secret_or_schema(tmp_path: Path) -> None:
    base = {**os.environ, "SMSGW_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    base.pop("SMSGW_SECRET_KEY", None)
    no_key = run(["run"], base)
    assert no_key.returncode == 1 and "SMSGW_SECRET_KEY" in no_key.stderr
    no_schema = run(["run"], {**base, "SMSGW_SECRET_KEY": SECRET})
    assert no_schema.returncode == 1 and "gatewayd migrate" in no_schema.stderr
    assert "Traceback" not in no_schema.stderr


async def test_run_serves_health_and_stops_on_sigterm(env: dict[str, str]) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        WEBUI,
        "run",
        env={**env, "SMSGW_LISTEN": f"127.0.0.1:{port}"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        # A deadline, not a number of tries: start-up on a loaded machine can take 10 s or more.
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/api/health") as response:
                        body = await response.json()
                        break
                except aiohttp.ClientConnectionError:
                    if process.returncode is not None or time.monotonic() > deadline:
                        pytest.fail(f"webui run never answered (exit {process.returncode})")
                    await asyncio.sleep(0.05)
        assert body["checks"]["database"] == "ok"
    finally:
        process.terminate()
        code = await asyncio.wait_for(process.wait(), 20)
    assert code == 0
