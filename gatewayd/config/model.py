"""The typed, frozen settings objects that every part of the gateway reads.

Built once at start-up by :func:`gatewayd.config.load_settings`; nothing here parses or
validates. Secrets are kept out of ``repr()`` so settings can be logged safely.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ModemDriver = Literal["at", "gammu"]
MODEM_DRIVERS: tuple[ModemDriver, ...] = ("at", "gammu")
PrepareAhead = Literal["auto", "always", "never"]
PREPARE_AHEAD: tuple[PrepareAhead, ...] = ("auto", "always", "never")
DefaultAlphabet = Literal["gsm", "latin1"]
DEFAULT_ALPHABETS: tuple[DefaultAlphabet, ...] = ("gsm", "latin1")
BoundMessages = Literal["wait", "failover"]
BOUND_MESSAGES: tuple[BoundMessages, ...] = ("wait", "failover")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_BAUDRATE = 115200
DEFAULT_DB_FILE_NAME = "gateway.db"


@dataclass(frozen=True)
class ListenAddress:
    """Where the web UI and API listen: ``host:port`` (IPv6 hosts written ``[::1]:8080``)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``first`` seconds after the first failure, doubling after each
    further one, never more than ``cap``."""

    first: float
    cap: float

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failures in a row (1 or more)."""
        return float(min(self.cap, self.first * 2.0 ** min(failures - 1, 64)))

    def delays(self) -> Iterator[float]:
        """The waits after the first, second, … failure, without end."""
        for failures in itertools.count(1):
            yield self.delay(failures)


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failed send is tried again: exponential backoff, capped."""

    max_attempts: int = 5
    backoff_base: float = 30.0
    """Seconds before the second attempt; doubles for each further attempt."""
    backoff_cap: float = 3600.0
    """Longest wait between two attempts, in seconds."""

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (2 for the first retry)."""
        if attempt <= 1:
            return 0.0
        return Backoff(self.backoff_base, self.backoff_cap).delay(attempt - 1)


@dataclass(frozen=True)
class LeaseSettings:
    """This host's lease in the database: proof that it is alive and owns its claims.

    The lease is renewed every ``renew_interval`` seconds and expires ``expiry`` seconds after
    the last renewal (by the database's clock); another host may then take over this host's
    work. This host itself stops writing to its modems ``safety_margin`` seconds before the
    expiry it was granted (by its own clock, counted from before it asked): see
    docs/reliability.md, "Hosts, leases and fencing"."""

    expiry: float = 20.0
    renew_interval: float = 5.0
    safety_margin: float = 3.0
    bound_messages: BoundMessages = "wait"
    """Queued messages bound to a modem of a host whose lease expired: ``wait`` for that host,
    or ``failover``: those no part of which has left go to any modem (their modem choice is
    dropped, recorded in their timeline and the audit log)."""

    @property
    def valid_for(self) -> float:
        """Seconds a renewal lets this host write to its modems, counted from before it asked."""
        return self.expiry - self.safety_margin


@dataclass(frozen=True)
class GatewaySettings:
    host: str = field(default_factory=socket.gethostname)
    """This gatewayd host's name: owner of its modems and of the queue claims it makes."""
    poll_interval: float = 2.0
    """Seconds between queue polls when no wake-up arrives."""
    reassembly_timeout: float = 3600.0
    """Seconds an incomplete multipart incoming message waits for its missing parts."""
    default_region: str | None = None
    """ISO 3166 country code for numbers typed without ``+``; None: such numbers are refused."""
    data_dir: Path = Path("data")
    retry: RetryPolicy = RetryPolicy()
    prepare_ahead: PrepareAhead = "auto"
    """When a modem's next part is committed ``sending`` while the current one is on the wire:
    ``auto`` only where a crash leaves no more doubt than without it (the modem keeps its
    status reports, the current part asks for one: see :mod:`gatewayd.worker.pipeline`)."""
    lease: LeaseSettings = LeaseSettings()


@dataclass(frozen=True)
class WebSettings:
    listen: ListenAddress = ListenAddress("127.0.0.1", 8080)
    secret_key: str | None = field(default=None, repr=False)
    """Signs session cookies; None: the web UI refuses to start outside development."""
    slow_request_ms: int = 500
    """Requests slower than this are logged as ``"Slow request"``."""
    metrics_allow: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    """Networks (CIDR) allowed to read ``/metrics`` and ``/api/metrics`` without logging in."""
    trusted_proxies: tuple[str, ...] = ()
    """Networks (CIDR) of the reverse proxies whose ``X-Forwarded-For`` / ``X-Forwarded-Proto``
    are believed; empty (the default): nobody's, the peer is the client."""
    live_streams_per_user: int = 8
    """Open live-event streams (``/events``) one user or API key may hold per web process."""
    command_timeout: float = 30.0
    """Seconds a USSD or restart command asked in the web UI waits for gatewayd's answer."""
    alert_interval: float = 15.0
    """Seconds between two evaluations of the alerts (sooner when a modem changes state or a
    message fails)."""
    webhook_allow: tuple[str, ...] = ()
    """Networks (CIDR), addresses and host names (``erp.lan``, ``*.corp.lan``) webhooks may
    reach although they are not public: LAN receivers. Empty: public addresses only."""


@dataclass(frozen=True)
class SmppSettings:
    """The SMPP server (``[smpp]``); off while neither ``listen`` nor ``tls_listen`` is set."""

    listen: ListenAddress | None = None
    """Plain SMPP (``SMSGW_SMPP_LISTEN``); the usual port is 2775."""
    tls_listen: ListenAddress | None = None
    """SMPP over TLS (``SMSGW_SMPP_TLS_LISTEN``), with ``tls_certificate`` and ``tls_key``."""
    tls_certificate: Path | None = None
    """PEM certificate chain of the TLS listener."""
    tls_key: Path | None = None
    """PEM private key of the TLS listener."""
    window: int = 10
    """Requests one bind may have outstanding; one more is answered ``ESME_RTHROTTLED``. Also
    the most ``deliver_sm`` the server has outstanding towards one bind."""
    idle_timeout: float = 300.0
    """Seconds a bind may go without sending a request (``enquire_link`` counts) before it is
    unbound."""
    enquire_link_interval: float = 60.0
    """Seconds of silence from the client after which the server sends ``enquire_link``."""
    response_timeout: float = 30.0
    """Seconds the server waits for the answer to its own requests (``enquire_link``,
    ``deliver_sm``, ``unbind``); an unanswered ``enquire_link`` closes the connection."""
    bind_timeout: float = 30.0
    """Seconds a new connection has to bind before it is closed."""
    max_connections: int = 200
    """Connections served at once (both listeners); more are closed at once."""
    redelivery_delay: float = 30.0
    """Seconds before a ``deliver_sm`` the client refused or left unanswered is sent again."""
    poll_interval: float = 5.0
    """Seconds between looks for new receipts and incoming SMS when no event wakes the server."""
    default_alphabet: DefaultAlphabet = "gsm"
    """What data_coding 0 means in both directions: ``gsm`` (GSM 03.38, one septet per octet,
    as Kannel and most clients send it) or ``latin1`` (clients that send Latin-1 under 0)."""

    @property
    def enabled(self) -> bool:
        return self.listen is not None or self.tls_listen is not None


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = field(repr=False)
    """As the user wrote it (``postgresql://…`` or ``sqlite:///…``), SQLite paths made absolute."""
    sqlalchemy_url: str = field(repr=False)
    """The same for SQLAlchemy's asyncio engine: ``postgresql+asyncpg``, ``sqlite+aiosqlite``."""
    display: str = ""
    """Human description without secrets, e.g. ``PostgreSQL at db:5432/sms_gateway``."""
    pool_size: int = 20
    connect_timeout: float = 10.0

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")


@dataclass(frozen=True)
class LogSettings:
    file: Path | None = None
    """None: JSON lines on stderr."""
    level: str = "INFO"


@dataclass(frozen=True)
class ModemSettings:
    name: str
    device: str
    """A device path (``/dev/ttyUSB0``, a udev symlink) or ``socket://host:port``."""
    driver: ModemDriver = "at"
    baudrate: int = DEFAULT_BAUDRATE
    pin: str | None = field(default=None, repr=False)
    per_minute: int | None = None
    """Most parts this modem may send in any minute; None: no limit."""
    per_day: int | None = None
    """Most parts this modem may send per calendar day (UTC); None: no limit."""
    prefixes: tuple[str, ...] = ()
    """E.164 prefixes (``+5511``) this modem serves; empty: any number."""
    enabled: bool = True
    imei: str | None = None
    """The modem's IMEI, checked at every start: when ``device`` answers with another IMEI (or
    is gone), the serial ports are searched for this one (see ``device_globs``)."""
    iccid: str | None = None
    """The SIM's ICCID, checked like ``imei``."""
    device_globs: tuple[str, ...] = ()
    """Where to search for the modem; empty: /dev/serial/by-id/*, /dev/ttyUSB*, /dev/ttyACM*."""
    balance_ussd: str | None = None
    """USSD code that asks the operator for the SIM's credit (``*100#``); None: no checks."""
    balance_pattern: str | None = None
    """Regex with a group named ``balance`` finding the amount in the answer; None: the first
    number with decimals."""
    balance_interval: float = 86400.0
    """Seconds between balance checks."""
    low_balance: float | None = None
    """Below this credit a "Low credit" warning and a ``modem.low_balance`` event are raised."""

    def serves(self, recipient: str) -> bool:
        """True when this modem may send to ``recipient`` (an E.164 number)."""
        return not self.prefixes or recipient.startswith(self.prefixes)


@dataclass(frozen=True)
class SmtpSettings:
    """The email-to-SMS server (``[smtp]``); off while ``listen`` is not set."""

    listen: ListenAddress | None = None
    """``HOST:PORT`` (``SMSGW_SMTP_LISTEN``); the usual ports are 25 and 587."""
    hostname: str = "sms-gateway"
    """The name the server gives in its greeting and its answer to EHLO."""
    tls_certificate: Path | None = None
    """PEM certificate chain for STARTTLS; without it (and ``tls_key``) no STARTTLS, no AUTH."""
    tls_key: Path | None = None
    allowed_networks: tuple[str, ...] = ()
    """Client networks whose mail is accepted without AUTH (CIDR)."""
    allowed_senders: tuple[str, ...] = ()
    """Envelope senders (``MAIL FROM``) accepted without AUTH: ``ops@example.com`` or
    ``@example.com``; lower case."""
    account: str | None = None
    """The client account (by name) that mail let in by the allow-lists sends as; None: no
    account, no limits."""
    max_message_size: int = 1024 * 1024
    """Bytes of one mail; bigger ones are refused with 552 (announced in EHLO's SIZE)."""
    max_recipients: int = 100
    """Recipients of one mail; one more is refused with 452."""
    max_text_length: int = 1000
    """Characters of the SMS text made from a mail; longer text refuses the mail (554)."""
    reports: str = "off"
    """Outcomes mailed back to the mail's sender (``SMSGW_SMTP_REPORTS``): ``off``,
    ``failures`` (a mail per SMS that did not arrive), ``each`` (a mail per SMS once final) or
    ``summary`` (one mail per mail once all its SMS are final)."""

    @property
    def enabled(self) -> bool:
        return self.listen is not None

    @property
    def tls(self) -> bool:
        return self.tls_certificate is not None and self.tls_key is not None


@dataclass(frozen=True)
class MailSettings:
    """The outgoing mail relay (``[mail]``, ``SMSGW_MAIL_URL``); off while ``host`` is None."""

    host: str | None = None
    port: int = 25
    security: str = "smtp"
    """``smtp`` (STARTTLS when offered), ``smtp+starttls`` (required) or ``smtps``."""
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str | None = None
    """The ``From`` address (``SMSGW_MAIL_FROM``)."""

    @property
    def enabled(self) -> bool:
        return self.host is not None


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings
    gateway: GatewaySettings = GatewaySettings()
    web: WebSettings = WebSettings()
    log: LogSettings = LogSettings()
    smpp: SmppSettings = SmppSettings()
    smtp: SmtpSettings = SmtpSettings()
    mail: MailSettings = MailSettings()
    redis_url: str | None = field(default=None, repr=False)
    """None: no Redis (in-process bus, polling only)."""
    modems: tuple[ModemSettings, ...] = ()
    source: Path | None = None
    """The settings file these came from; None when only defaults and environment were used."""

    @property
    def enabled_modems(self) -> tuple[ModemSettings, ...]:
        return tuple(m for m in self.modems if m.enabled)

    def modem(self, name: str) -> ModemSettings | None:
        return next((m for m in self.modems if m.name == name), None)
