"""Pure pieces of the web side: client address, Kannel placeholders, signatures,
request statistics, input error mapping, security-check rules."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from pydantic import ValidationError

from webui.addresses import AddressPolicy, RefusedAddress, is_public
from webui.api.inputs import validation_error
from webui.api.models import SendRequest
from webui.auth.clientaddr import client_address, is_https
from webui.cli.security_check import check_secret_key
from webui.options import parse_networks
from webui.stats import RequestStats
from webui.webhooks.kannel import dlr_type, substitute
from webui.webhooks.signing import body_bytes, signature, verify

TRUSTED = parse_networks(["127.0.0.1/32", "172.18.0.0/16", "10.0.0.2/32"])
"""Loopback and a Compose network with nginx in it, as an operator would configure them."""


def request_from(peer: str, headers: dict[str, str]) -> Any:
    class Transport:
        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return (peer, 1234) if name == "peername" else default

    return make_mocked_request("GET", "/", headers=headers, transport=Transport())


def test_forwarded_for_is_honoured_only_from_trusted_proxies() -> None:
    via_nginx = request_from("172.18.0.5", {"X-Forwarded-For": "203.0.113.9, 10.0.0.2"})
    assert client_address(via_nginx, TRUSTED) == "203.0.113.9"
    spoofed = request_from("198.51.100.7", {"X-Forwarded-For": "127.0.0.1"})
    assert client_address(spoofed, TRUSTED) == "198.51.100.7"
    assert not is_https(request_from("198.51.100.7", {"X-Forwarded-Proto": "https"}), TRUSTED)
    assert is_https(request_from("127.0.0.1", {"X-Forwarded-Proto": "https"}), TRUSTED)


def test_kannel_placeholders_and_mask() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    url = substitute(
        "http://h/dlr?t=%d&to=%p&id=%I&pct=%%&keep=%z&a=%A",
        kind=1,
        message_id=7,
        recipient="+5511987654321",
        sender="",
        modem="m0",
        at=at,
        detail=None,
    )
    assert url == "http://h/dlr?t=1&to=%2B5511987654321&id=7&pct=%&keep=%z&a=DELIVRD"
    assert dlr_type("delivered", 3) == 1
    assert dlr_type("sent", 3) is None
    assert dlr_type("sent", 31) == 8


def test_signature_round_trip() -> None:
    body = body_bytes({"event": "message.status", "id": 1, "text": "olá"})
    header = signature("s3cret", body)
    assert header.startswith("sha256=") and verify("s3cret", body, header)
    assert not verify("other", body, header)
    assert not verify("s3cret", body + b" ", header)


def test_request_stats_p95_and_error_rate() -> None:
    stats = RequestStats(clock=lambda: 100.0)
    for i in range(100):
        stats.record("GET", "/x", 500 if i < 2 else 200, (i + 1) / 1000)
    summary = stats.summary()
    assert summary["requests"] == 100
    assert summary["latency_p95_ms"] == 95.0
    assert summary["error_rate"] == 0.02


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ('{"to": 5, "text": "x"}', "wrong_type", "to"),
        ('{"to": "+1", "text": "x", "extra": 1}', "unknown_field", "extra"),
        ('{"to": "+1"}', "missing_field", "text"),
        ('{"to": "+1", "text": ""}', "empty_text", "text"),
        ('{"to": "+1", "text": "x", "send_at": "tomorrow"}', "invalid_send_at", "send_at"),
        ("[1, 2", "invalid_json", None),
    ],
)
def test_validation_errors_name_the_field(body: str, code: str, field: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        SendRequest.model_validate_json(body)
    error = validation_error(caught.value)
    assert (error.code, error.field) == (code, field)


def test_secret_key_rules() -> None:
    assert check_secret_key(None)
    assert check_secret_key("changeme")
    assert check_secret_key("aB3" * 5)
    assert not check_secret_key("Zx9-kP2qL7vR4tY8wE1uI6oA5sD0fG3hJ")


def test_embedded_secret_key_is_made_once_and_kept(tmp_path: Any) -> None:
    from gatewayd.config import load_settings
    from gatewayd.config.secret_key import with_secret_key

    settings = load_settings(None, env={"SMSGW_DATA_DIR": str(tmp_path)})
    assert with_secret_key(settings, create=False).web.secret_key is None
    first = with_secret_key(settings, create=True)
    second = with_secret_key(settings, create=True)
    assert first.web.secret_key and first.web.secret_key == second.web.secret_key
    assert with_secret_key(settings, create=False).web.secret_key == first.web.secret_key
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("2002:7f00:1::", False),
        ("64:ff9b::a00:1", False),
        ("64:ff9b::808:808", True),
        ("ff02::1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_address_policy_allow_list() -> None:
    policy = AddressPolicy.parse(["192.168.10.0/24", "10.1.2.3", "ERP.lan", "*.corp.lan"])
    for allowed in ("192.168.10.7", "10.1.2.3", "::ffff:192.168.10.7", "1.1.1.1"):
        assert policy.allows_address(ipaddress.ip_address(allowed)), allowed
    for refused in ("192.168.11.7", "10.1.2.4", "127.0.0.1"):
        assert not policy.allows_address(ipaddress.ip_address(refused)), refused
    assert policy.allows_name("erp.lan.") and policy.allows_name("a.b.corp.lan")
    assert not policy.allows_name("corp.lan") and not policy.allows_name("xcorp.lan")
    policy.check_resolved("erp.lan", ["127.0.0.1"])  # listed by name: wherever it points
    with pytest.raises(RefusedAddress, match=r"resolves to 127\.0\.0\.1, a loopback address"):
        policy.check_resolved("other.lan", ["192.168.10.7", "127.0.0.1"])
    for host in ("localhost", "x.localhost", "2130706433", "0x7f.1", "[::1]"):
        with pytest.raises(RefusedAddress):
            AddressPolicy().check_literal(host)
