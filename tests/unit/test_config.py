"""Settings: defaults, the TOML file, environment overrides and one-line errors."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from gatewayd.config import Backoff, ListenAddress, RetryPolicy, SettingsError, load_settings
from gatewayd.config.dburl import to_async_url

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "gatewayd.example.toml"


def write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "gatewayd.toml"
    path.write_text(body, encoding="utf-8")
    return str(path)


def error_of(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(write(tmp_path, body), env or {})
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_without_file_use_sqlite_in_data_dir_of_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, {})
    assert settings.source is None
    assert settings.database.url == f"sqlite:///{tmp_path}/data/gateway.db"
    assert settings.database.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path}/data/gateway.db"
    assert settings.database.is_sqlite
    assert settings.web.listen == ListenAddress("127.0.0.1", 8080)
    assert settings.web.slow_request_ms == 500
    assert settings.web.command_timeout == 30.0
    assert settings.redis_url is None
    assert settings.log.file is None and settings.log.level == "INFO"
    assert settings.modems == ()
    assert settings.gateway.host  # the machine's host name


def test_data_dir_from_environment_holds_default_database(tmp_path: Path) -> None:
    settings = load_settings(None, {"SMSGW_DATA_DIR": str(tmp_path / "state")})
    assert settings.gateway.data_dir == tmp_path / "state"
    assert settings.database.url == f"sqlite:///{tmp_path}/state/gateway.db"


def test_example_file_loads_with_every_section(tmp_path: Path) -> None:
    settings = load_settings(str(EXAMPLE), {})
    assert settings.source == EXAMPLE
    assert settings.gateway.host == "gw1"
    assert settings.gateway.default_region == "BR"
    assert settings.gateway.retry.max_attempts >= 1
    assert settings.database.sqlalchemy_url.startswith("postgresql+asyncpg://")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert [m.name for m in settings.modems] == ["claro1", "vivo1", "lab"]
    claro = settings.modem("claro1")
    assert claro is not None and claro.prefixes == ("+5511", "+5512")
    assert claro.pin == "1234" and claro.per_minute == 10 and claro.per_day == 2000
    assert settings.modem("lab") is not None
    assert [m.name for m in settings.enabled_modems] == ["claro1", "vivo1"]


def test_every_setting_is_documented() -> None:
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = EXAMPLE.read_text(encoding="utf-8")
    keys = set(re.findall(r"^#?\s*([a-z_]+)\s*=", example, flags=re.MULTILINE))
    assert {"poll_interval", "backoff_cap", "per_day", "prefixes", "metrics_allow"} <= keys
    for key in keys:
        assert f"`{key}`" in documented, f"{key} is not in docs/configuration.md"
    for variable in re.findall(r"SMSGW_[A-Z_]+", (ROOT / "gatewayd/config/loader.py").read_text()):
        assert variable in documented, f"{variable} is not in docs/configuration.md"


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[web]\nlisten = "0.0.0.0:9000"\n')
    settings = load_settings(None, {"SMSGW_CONFIG": path})
    assert settings.web.listen == ListenAddress("0.0.0.0", 9000)
    assert str(settings.web.listen) == "0.0.0.0:9000"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[gateway]
default_region = "PT"
[web]
listen = "127.0.0.1:1"
secret_key = "from-file"
[database]
url = "sqlite:///from-file.db"
[redis]
url = "redis://file:6379/0"
[log]
file = "file.log"
""",
    )
    env = {
        "SMSGW_DATABASE_URL": "postgresql://gw:pw@db:5432/sms_gateway",
        "SMSGW_REDIS_URL": "redis://redis:6379/1",
        "SMSGW_SECRET_KEY": "from-env",
        "SMSGW_LISTEN": "[::]:8443",
        "SMSGW_LOG_FILE": str(tmp_path / "logs" / "app.log"),
        "SMSGW_LOG_LEVEL": "debug",
        "SMSGW_DEFAULT_REGION": "br",
    }
    settings = load_settings(path, env)
    assert settings.database.sqlalchemy_url == "postgresql+asyncpg://gw:pw@db:5432/sms_gateway"
    assert settings.database.display == "PostgreSQL at db:5432/sms_gateway"
    assert not settings.database.is_sqlite
    assert settings.redis_url == "redis://redis:6379/1"
    assert settings.web.secret_key == "from-env"
    assert settings.web.listen == ListenAddress("::", 8443)
    assert str(settings.web.listen) == "[::]:8443"
    assert settings.log.file == tmp_path / "logs" / "app.log"
    assert settings.log.level == "DEBUG"
    assert settings.gateway.default_region == "BR"


def test_no_proxy_is_trusted_unless_configured(tmp_path: Path) -> None:
    assert load_settings(None, {}).web.trusted_proxies == ()
    path = write(tmp_path, '[web]\ntrusted_proxies = ["172.30.0.10/32"]\n')
    assert load_settings(path, {}).web.trusted_proxies == ("172.30.0.10/32",)
    from_env = {"SMSGW_TRUSTED_PROXIES": " 10.0.0.5 , ::1/128 "}
    assert load_settings(path, from_env).web.trusted_proxies == ("10.0.0.5", "::1/128")
    assert load_settings(path, {"SMSGW_TRUSTED_PROXIES": "none"}).web.trusted_proxies == ()


def test_empty_environment_values_count_as_unset(tmp_path: Path) -> None:
    path = write(tmp_path, '[redis]\nurl = "redis://file:6379/0"\n')
    settings = load_settings(path, {"SMSGW_REDIS_URL": "", "SMSGW_LISTEN": " "})
    assert settings.redis_url == "redis://file:6379/0"
    assert settings.web.listen.port == 8080


def test_repr_hides_secrets(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[web]\nsecret_key = "s3cr3t-key"\n'
        '[[modem]]\nname = "m"\ndevice = "/dev/x"\npin = "9876"\n',
    )
    settings = load_settings(path, {"SMSGW_DATABASE_URL": "postgresql://u:hunter2@h/db"})
    shown = repr(settings)
    for secret in ("s3cr3t-key", "9876", "hunter2"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/sms_gateway", "postgresql+asyncpg://u:p@h:5432/sms_gateway"),
        ("postgres://u@h/sms_gateway", "postgresql+asyncpg://u@h/sms_gateway"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:////var/lib/gw/gateway.db", "sqlite+aiosqlite:////var/lib/gw/gateway.db"),
    ],
)
def test_database_urls_become_async_urls(url: str, expected: str) -> None:
    assert to_async_url(url) == expected


def test_relative_sqlite_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, {"SMSGW_DATABASE_URL": "sqlite:///rel/gw.db"})
    assert settings.database.url == f"sqlite:///{tmp_path}/rel/gw.db"


def test_modem_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[[modem]]\nname = "m0"\ndevice = "/dev/m0"\n'), {})
    (modem,) = settings.modems
    assert (modem.driver, modem.baudrate, modem.pin, modem.enabled) == ("at", 115200, None, True)
    assert modem.per_minute is None and modem.per_day is None and modem.prefixes == ()
    assert modem.serves("+351912345678")


def test_modem_prefixes_route_numbers(tmp_path: Path) -> None:
    body = '[[modem]]\nname = "m"\ndevice = "socket://127.0.0.1:7000"\nprefixes = ["+5511"]\n'
    (modem,) = load_settings(write(tmp_path, body), {}).modems
    assert modem.device == "socket://127.0.0.1:7000"
    assert modem.serves("+5511987654321")
    assert not modem.serves("+5521987654321")


@pytest.mark.parametrize("choice", ["auto", "always", "never"])
def test_prepare_ahead_choices(tmp_path: Path, choice: str) -> None:
    settings = load_settings(write(tmp_path, f'[gateway]\nprepare_ahead = "{choice}"\n'), {})
    assert settings.gateway.prepare_ahead == choice
    assert load_settings(None, {}).gateway.prepare_ahead == "auto"


def test_retry_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=6, backoff_base=10, backoff_cap=35)
    assert [policy.delay_before(n) for n in range(1, 6)] == [0.0, 10.0, 20.0, 35.0, 35.0]


def test_backoff_doubles_up_to_the_cap_and_never_overflows() -> None:
    backoff = Backoff(0.5, 10.0)
    assert list(itertools.islice(backoff.delays(), 7)) == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.delay(100_000) == 10.0


MODEM = '[[modem]]\nname = "m1"\ndevice = "/dev/ttyUSB0"\n'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[webui]\nlisten = 'x'\n", "unknown table [webui]"),
        ("[web]\nlisen = '127.0.0.1:1'\n", "[web] unknown key 'lisen'"),
        ("[gateway.retry]\nmax_atempts = 3\n", "[gateway.retry] unknown key 'max_atempts'"),
        (MODEM + "baud = 9600\n", "[[modem]] 'm1' unknown key 'baud'"),
        ("[gateway]\npoll_interval = 'fast'\n", "[gateway] poll_interval: must be a number"),
        ("[gateway]\npoll_interval = 0\n", "poll_interval: must be greater than 0"),
        ("[gateway]\nprepare_ahead = true\n", "prepare_ahead: must be a string, got a boolean"),
        (
            "[gateway]\nprepare_ahead = 'sometimes'\n",
            'prepare_ahead: must be one of "auto", "always", "never", got \'sometimes\'',
        ),
        ("[web]\nslow_request_ms = true\n", "slow_request_ms: must be an integer, got a boolean"),
        ("[web]\ncommand_timeout = 0\n", "command_timeout: must be greater than 0, got 0"),
        ("[web]\nlisten = 'localhost'\n", "[web] listen: must be HOST:PORT"),
        ("[web]\nmetrics_allow = ['10.0.0.0/33']\n", "'10.0.0.0/33' is not an IP address"),
        ("[web]\ntrusted_proxies = ['nginx']\n", "trusted_proxies: 'nginx' is not an IP"),
        ("[web]\nwebhook_allow = ['http://erp.lan']\n", "webhook_allow: 'http://erp.lan' is not"),
        (MODEM + "driver = 'qmi'\n", 'driver: must be "at" or "gammu", got \'qmi\''),
        (MODEM.replace("/dev/ttyUSB0", "tcp://h:1"), "device: must be a path such as"),
        (MODEM.replace("/dev/ttyUSB0", "socket://h"), "device: must be a path such as"),
        (MODEM.replace("/dev/ttyUSB0", "socket://h:70000"), "device: port must be 1-65535"),
        (MODEM + "pin = 1234\n", "pin: must be a quoted string"),
        (MODEM + "pin = '12a4'\n", "pin: must be 4 to 8 digits"),
        (MODEM + "baudrate = 1000\n", "baudrate: must be a standard rate"),
        (MODEM + "per_minute = 0\n", "per_minute: must be at least 1, got 0"),
        (MODEM + "prefixes = ['5511']\n", "prefixes: each must be an E.164 prefix"),
        (MODEM + "enabled = 'yes'\n", "enabled: must be true or false"),
        ('[[modem]]\ndevice = "/dev/x"\n', "[[modem]] #1 name: is required"),
        ('[[modem]]\nname = "a b"\ndevice = "/dev/x"\n', "name: must be 1-32 letters"),
        ('[[modem]]\nname = "m1"\n', "device: is required"),
        (MODEM + MODEM, "name 'm1' is used twice"),
        (MODEM + MODEM.replace('"m1"', '"m2"'), "'m2' device '/dev/ttyUSB0' is already used"),
        ('[modem]\nname = "m1"\ndevice = "/dev/x"\n', "must be written [[modem]]"),
        ("[database]\nurl = 'mysql://h/db'\n", "[database] url: unsupported database 'mysql'"),
        ("[database]\nurl = 'postgresql://h'\n", "needs a database name"),
        ("[gateway]\ndefault_region = 'XX'\n", "default_region: must be an ISO 3166 country"),
        ("[gateway.retry]\nbackoff_base = 60\nbackoff_cap = 30\n", "backoff_cap: must not be"),
        ("[log]\nlevel = 'loud'\n", "[log] level: must be one of DEBUG"),
        ("[redis]\nurl = 'http://h'\n", "[redis] url: must look like redis://"),
        ("[web\n", "not valid TOML"),
    ],
)
def test_mistakes_give_one_line_naming_the_place(tmp_path: Path, body: str, expected: str) -> None:
    message = error_of(tmp_path, body)
    assert expected in message
    assert message.startswith(str(tmp_path / "gatewayd.toml"))


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SMSGW_LISTEN", "8080", "SMSGW_LISTEN: must be HOST:PORT"),
        ("SMSGW_LISTEN", "h:99999", "SMSGW_LISTEN: must be HOST:PORT"),
        ("SMSGW_DATABASE_URL", "oracle://x/y", "SMSGW_DATABASE_URL: unsupported database"),
        ("SMSGW_DATABASE_URL", "sqlite://", "SMSGW_DATABASE_URL: a SQLite URL needs a file"),
        ("SMSGW_REDIS_URL", "127.0.0.1:6379", "SMSGW_REDIS_URL: must look like redis://"),
        ("SMSGW_DEFAULT_REGION", "Brazil", "SMSGW_DEFAULT_REGION: must be an ISO 3166"),
        ("SMSGW_LOG_LEVEL", "verbose", "SMSGW_LOG_LEVEL: must be one of"),
        ("SMSGW_TRUSTED_PROXIES", "10.0.0.1,web", "SMSGW_TRUSTED_PROXIES: 'web' is not an IP"),
    ],
)
def test_bad_environment_values_name_the_variable(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    message = error_of(tmp_path, "", {variable: value})
    assert message.startswith(expected)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^settings file not found: .*nope\.toml$"):
        load_settings(str(tmp_path / "nope.toml"), {})


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(None, {"SMSGW_DATA_DIR": str(tmp_path)})
    with pytest.raises(AttributeError):
        settings.web = settings.web  # type: ignore[misc]


def test_lease_settings_and_their_defaults(tmp_path: Path) -> None:
    default = load_settings(None, {}).gateway.lease
    assert (default.expiry, default.renew_interval, default.safety_margin) == (20.0, 5.0, 3.0)
    assert default.bound_messages == "wait" and default.valid_for == 17.0
    body = (
        "[gateway.lease]\nexpiry = 6\nrenew_interval = 1\nsafety_margin = 1.5\n"
        'bound_messages = "failover"\n'
    )
    lease = load_settings(write(tmp_path, body), {}).gateway.lease
    assert (lease.expiry, lease.renew_interval, lease.safety_margin) == (6.0, 1.0, 1.5)
    assert lease.bound_messages == "failover"
    short = load_settings(write(tmp_path, "[gateway.lease]\nexpiry = 4\n"), {}).gateway.lease
    # The defaults would not fit so short a lease: they follow it.
    assert (short.safety_margin, short.renew_interval) == pytest.approx((0.6, 1.7))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("expiry = 1\n", "[gateway.lease] expiry: must be at least 2 seconds, got 1"),
        ("expiry = 'long'\n", "expiry: must be a number"),
        ("safety_margin = 0.1\n", "safety_margin: must be between 0.5 s and half of expiry"),
        ("expiry = 6\nsafety_margin = 4\n", "safety_margin: must be between 0.5 s and half"),
        ("renew_interval = 9\n", "renew_interval: must be at most half of expiry - safety_margin"),
        ("renew_interval = 0\n", "renew_interval: must be greater than 0"),
        ("bound_messages = 'drop'\n", 'bound_messages: must be one of "wait", "failover"'),
        ("expiri = 5\n", "[gateway.lease] unknown key 'expiri'"),
    ],
)
def test_lease_mistakes_give_one_line(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error_of(tmp_path, "[gateway.lease]\n" + body)


@pytest.mark.parametrize(
    ("written", "engine", "kept", "shown"),
    [
        (
            "postgresql://u:p@db1:5432,db2:5433/sms_gateway?target_session_attrs=read-write",
            "postgresql+asyncpg://u:p@/sms_gateway?host=db1%3A5432&host=db2%3A5433"
            "&target_session_attrs=read-write",
            "postgresql://u:p@db1:5432,db2:5433/sms_gateway?target_session_attrs=read-write",
            "PostgreSQL at db1:5432,db2:5433/sms_gateway",
        ),
        (
            "postgresql://db1,db2/sms_gateway",
            "postgresql+asyncpg:///sms_gateway?host=db1%3A5432&host=db2%3A5432"
            "&target_session_attrs=read-write",
            "postgresql://db1:5432,db2:5432/sms_gateway?target_session_attrs=read-write",
            "PostgreSQL at db1:5432,db2:5432/sms_gateway",
        ),
        (
            "postgresql+asyncpg://u@/sms?host=db1:5432&host=db2:5433&target_session_attrs=primary",
            "postgresql+asyncpg://u@/sms?host=db1%3A5432&host=db2%3A5433"
            "&target_session_attrs=primary",
            "postgresql://u@db1:5432,db2:5433/sms?target_session_attrs=primary",
            "PostgreSQL at db1:5432,db2:5433/sms",
        ),
    ],
)
def test_several_postgresql_hosts(written: str, engine: str, kept: str, shown: str) -> None:
    """libpq's multi-host form becomes SQLAlchemy's ``?host=`` form for the engine, and stays
    libpq's for what reads the URL itself (pg_dump); several hosts default to read-write."""
    settings = load_settings(None, {"SMSGW_DATABASE_URL": written})
    assert settings.database.sqlalchemy_url == engine
    assert settings.database.url == kept
    assert settings.database.display == shown
    assert load_settings(None, {"SMSGW_DATABASE_URL": kept}).database.sqlalchemy_url == engine


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://db1,/sms", "'' is not a host or host:port"),
        ("postgresql://db1,db2:99999/sms", "'db2:99999': the port must be 1-65535"),
        ("postgresql://db1,db2/", "needs a database name"),
        ("postgresql://db1,db2/sms?target_session_attrs=any", "would let the gateway connect"),
        ("postgresql://db1/sms?target_session_attrs=read-only", "would let the gateway connect"),
        ("postgresql://db1/sms?target_session_attrs=fast", "target_session_attrs must be one of"),
        ("postgresql://db1,db2/sms?host=db3", "name the hosts either before the database"),
    ],
)
def test_database_url_mistakes(url: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(None, {"SMSGW_DATABASE_URL": url})
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith("SMSGW_DATABASE_URL: ")
