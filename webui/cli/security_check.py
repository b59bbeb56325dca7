"""``webui security-check``: audit the deployment's settings; exit 0 when clean, 1 with the
findings listed (one per line, most serious first)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from gatewayd.config import Settings
from gatewayd.config.command_line import CliError, add_config_argument, add_parser
from gatewayd.config.dburl import parse_database_url
from gatewayd.config.secret_key import MIN_SECRET_KEY_LENGTH, read_key_file, secret_key_path
from gatewayd.private_files import loose_mode
from gatewayd.store import Database, DatabaseUnavailable, Role
from webui.auth.passwords import verify_password
from webui.auth.users import list_users
from webui.cli.common import prepare, run_with_database

WEAK_SECRETS = {
    "secret",
    "changeme",
    "change-me",
    "please-change-me",
    "dev",
    "development",
    "test",
    "password",
    "default",
    "insecure",
    "sms-gateway",
    "smsgw",
    "your-secret-key",
}
DEFAULT_DB_PASSWORDS = {
    "",
    "password",
    "postgres",
    "changeme",
    "secret",
    "pass",
    "user",
    "sms_gateway",
    "smsgw",
    "admin",
    "root",
    "123456",
}
DEFAULT_USER_PASSWORDS = ("admin", "password", "changeme", "123456", "admin123", "secret")
CERT_WARNING_DAYS = 30
WIDEST_TRUSTED_PROXY_NETWORK = 65536
"""A /16: a Compose network's whole subnet still passes, a LAN (/8, 0.0.0.0/0) does not."""
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Finding:
    severity: str
    text: str

    def __str__(self) -> str:
        return f"[{self.severity}] {self.text}"


def register(subparsers: Any) -> None:
    parser = add_parser(subparsers, "security-check", "audit the deployment's security settings")
    add_config_argument(parser)
    parser.add_argument(
        "--cert",
        metavar="PATH",
        help="TLS certificate to check (default: ssl/cert.pem when present)",
    )
    parser.set_defaults(handler=run_security_check)


def check_secret_key(secret: str | None, where: str = "") -> list[Finding]:
    """Judge a key; ``where`` (`` in /path``) says where it was found."""
    if not secret:
        return [Finding("high", "no secret key: set SMSGW_SECRET_KEY (48+ random characters)")]
    if secret.lower() in WEAK_SECRETS or len(set(secret)) < 8:
        return [
            Finding("high", f"the secret key{where} is a well-known or trivial value: replace it")
        ]
    if len(secret) < MIN_SECRET_KEY_LENGTH:
        return [
            Finding(
                "high",
                f"the secret key{where} has {len(secret)} characters; use at "
                f"least {MIN_SECRET_KEY_LENGTH} random ones",
            )
        ]
    return []


def check_installation_key(settings: Settings) -> list[Finding]:
    """The key the web UI and gatewayd use: the configured one, else the one ``gatewayd run
    --web`` keeps in the data directory (judged with its file's mode)."""
    if settings.web.secret_key:
        return check_secret_key(settings.web.secret_key)
    path = secret_key_path(settings)
    stored = read_key_file(path)
    if stored is None:
        return [
            Finding(
                "high",
                "no secret key: set SMSGW_SECRET_KEY (48+ random characters), "
                f"or let `gatewayd run --web` create {path}",
            )
        ]
    return check_secret_key(stored, f" in {path}") + check_private_files([path])


def check_private_files(paths: list[Path]) -> list[Finding]:
    findings = []
    for path in paths:
        bits = loose_mode(path)
        if bits is not None:
            findings.append(
                Finding(
                    "medium", f"{path} is readable by other users (mode {bits:04o}): chmod 600 it"
                )
            )
    return findings


def check_settings(settings: Settings, env: dict[str, str]) -> list[Finding]:
    findings = check_installation_key(settings)
    if settings.log.level == "DEBUG" or env.get("SMSGW_DEBUG", "").lower() in ("1", "true", "yes"):
        findings.append(
            Finding(
                "medium",
                "debug is on (log level DEBUG or SMSGW_DEBUG): "
                "logs may hold message texts and numbers",
            )
        )
    for network in settings.web.metrics_allow:
        net = ipaddress.ip_network(network, strict=False)
        if net.prefixlen < 8:
            findings.append(
                Finding(
                    "medium",
                    f"metrics_allow contains {network}: the metrics "
                    "are readable without login from anywhere",
                )
            )
    for network in settings.web.trusted_proxies:
        net = ipaddress.ip_network(network, strict=False)
        if net.num_addresses > WIDEST_TRUSTED_PROXY_NETWORK:
            findings.append(
                Finding(
                    "medium",
                    f"trusted_proxies contains {network}: any machine "
                    "in it can forge its client address; list only "
                    "the proxy's own address",
                )
            )
    if settings.database.is_sqlite:
        database = Path(parse_database_url(settings.database.url).database or "")
        findings += check_private_files(
            [database, *(database.with_name(database.name + end) for end in ("-wal", "-shm"))]
        )
    else:
        url = parse_database_url(settings.database.url)
        if (url.password or "") in DEFAULT_DB_PASSWORDS:
            findings.append(Finding("high", "the database URL uses an empty or default password"))
    host = settings.web.listen.host
    behind_proxy = env.get("SMSGW_BEHIND_PROXY", "").lower() in ("1", "true", "yes")
    if host in ("0.0.0.0", "::", "") and not behind_proxy and not Path("nginx").is_dir():
        findings.append(
            Finding(
                "medium",
                f"listening on {settings.web.listen} without a TLS "
                "proxy: put nginx in front (or set "
                "SMSGW_BEHIND_PROXY=1 when one is)",
            )
        )
    if settings.redis_url:
        redis = make_url(settings.redis_url.replace("unix://", "redis://localhost", 1))
        local = redis.host in (None, "localhost", "127.0.0.1", "::1", "redis")
        if not redis.password and not local:
            findings.append(Finding("low", f"Redis at {redis.host} has no password"))
    if settings.source is not None and settings.web.secret_key:
        try:
            mode = settings.source.stat().st_mode
        except OSError:
            mode = 0
        if mode & stat.S_IROTH and "secret_key" in settings.source.read_text(errors="ignore"):
            findings.append(
                Finding(
                    "medium",
                    f"{settings.source} holds the secret key and is "
                    "readable by every user: chmod 640 it",
                )
            )
    return findings


def check_certificate(path: Path | None, explicit: bool) -> list[Finding]:
    if path is None:
        return []
    if not path.exists():
        if explicit or Path("nginx").is_dir():
            return [Finding("high", f"TLS certificate {path} is missing")]
        return []
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (ValueError, OSError) as exc:
        return [Finding("high", f"TLS certificate {path} cannot be read: {exc}")]
    expires = cert.not_valid_after_utc
    now = datetime.now(UTC)
    if expires <= now:
        return [Finding("high", f"TLS certificate {path} expired on {expires:%Y-%m-%d}")]
    if expires - now < timedelta(days=CERT_WARNING_DAYS):
        days = (expires - now).days
        return [
            Finding(
                "high",
                f"TLS certificate {path} expires in {days} days ({expires:%Y-%m-%d}): renew it",
            )
        ]
    return []


async def check_users(db: Database) -> list[Finding]:
    findings: list[Finding] = []
    async with db.read() as conn:
        rows = await list_users(conn)
    admins = [row for row in rows if row.role == Role.ADMIN.value and row.disabled_at is None]
    if not admins:
        findings.append(
            Finding("low", "there is no admin user: `webui create-user NAME --role admin`")
        )
    for row in rows:
        if row.disabled_at is not None:
            continue
        if row.role == Role.ADMIN.value and row.must_change_password:
            findings.append(
                Finding(
                    "high",
                    f"admin {row.username!r} still has an initial password that must be changed",
                )
            )
        guesses = (*DEFAULT_USER_PASSWORDS, row.username)
        if any(verify_password(row.password_hash, guess) for guess in guesses):
            findings.append(
                Finding("high", f"user {row.username!r} has a default or trivial password")
            )
    return findings


def run_security_check(args: argparse.Namespace) -> int:
    settings = prepare(args)
    findings = check_settings(settings, dict(os.environ))
    cert_path = Path(args.cert) if args.cert else Path("ssl/cert.pem")
    findings += check_certificate(cert_path, explicit=bool(args.cert))
    try:
        findings += run_with_database(settings, check_users)
    except CliError as exc:
        findings.append(Finding("medium", f"users not checked: {exc}"))
    except DatabaseUnavailable as exc:
        findings.append(Finding("medium", f"users not checked: {exc}"))
    findings.sort(key=lambda finding: SEVERITY_ORDER[finding.severity])
    if not findings:
        print("security-check: no findings")
        return 0
    print(f"security-check: {len(findings)} finding(s)")
    for finding in findings:
        print(finding)
    return 1
