"""Pure pieces of the operator's console: recipients split as people type them, the one
wording of a refused number, spreadsheet-safe CSV cells, URLs that wrap between their parts,
audit entries in words."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from webui.services import contact_import
from webui.services.csv_cells import csv_text, safe_cell
from webui.services.errors import Invalid
from webui.services.numbers import check_number, number_problem, split_recipients
from webui.views.audit_words import describe
from webui.views.labels import signal_bars, url_breaks, webhook_error


@pytest.mark.parametrize(
    ("typed", "numbers"),
    [
        ("+55 11 99000-0002", ["+55 11 99000-0002"]),
        ("+55 11 99000-0002, +55 11 99000-0003", ["+55 11 99000-0002", "+55 11 99000-0003"]),
        (
            "11 98765-4321;21 98765-4321\n(31) 98765-0003\r\n",
            ["11 98765-4321", "21 98765-4321", "(31) 98765-0003"],
        ),
        (" ,; \n ", []),
    ],
)
def test_recipients_split_on_commas_semicolons_and_new_lines_only(
    typed: str, numbers: list[str]
) -> None:
    assert split_recipients(typed) == numbers


def test_a_refused_number_is_named_with_why_and_how_to_fix() -> None:
    with pytest.raises(Invalid) as refused:
        check_number("11 98765-4321", None)
    assert refused.value.code == "invalid_number"
    assert refused.value.detail == {"to": "11 98765-4321", "reason": "no_country_code"}
    assert refused.value.message == (
        "“11 98765-4321” has no country code: write it with + and the country code "
        "(such as +55 11 98765-4321), or set the default country."
    )
    assert check_number("11 98765-4321", "BR") == "+5511987654321"
    assert number_problem("abc", "not_a_number") == "“abc” is not a phone number."
    assert number_problem("+55 1", "invalid") == "“+55 1” is not a valid phone number."


@pytest.mark.parametrize(
    "hostile",
    ['=HYPERLINK("http://x")', "+5511987654321", "-2+3", "@SUM(A1)", "\t=1", "\r=1", " =1", "＝1"],
)
def test_cells_a_spreadsheet_would_run_are_made_text(hostile: str) -> None:
    assert safe_cell(hostile) == "'" + hostile
    [row] = list(csv.reader(io.StringIO(csv_text([[hostile, 5]]))))
    assert row == ["'" + hostile, "5"]


def test_plain_values_are_written_as_they_are() -> None:
    moment = datetime(2026, 12, 1, 12, 0, 3, tzinfo=UTC)
    assert [safe_cell(v) for v in ("Olá, tudo bem?", 42, None, moment, True)] == [
        "Olá, tudo bem?",
        42,
        "",
        "2026-12-01T12:00:03Z",
        "true",
    ]
    assert csv_text([["a,b", 'say "hi"']]) == '"a,b","say ""hi"""\r\n'


def test_urls_wrap_between_their_parts_and_stay_escaped() -> None:
    shown = str(url_breaks("https://erp.example.com/sms/hook?a=1&b=<x>"))
    assert shown == (
        "https://<wbr>erp.example.com/<wbr>sms/<wbr>hook?<wbr>a=1&amp;<wbr>b=&lt;x&gt;"
    )


def test_delivery_errors_read_once_in_words() -> None:
    assert webhook_error("http_status_501", 501) == "HTTP 501"
    assert webhook_error("timeout", None) == "no answer within 10 s"
    assert webhook_error("ClientConnectorError(...)", None) == "failed (see the server log)"
    assert webhook_error(None, None) == ""


def test_a_modem_in_error_or_offline_shows_no_bars() -> None:
    assert signal_bars(-60, "online") == 4
    assert signal_bars(-60, "error") == 0
    assert signal_bars(-60, "offline") == 0
    assert signal_bars(None, "online") == 0


def entry(**fields: object) -> SimpleNamespace:
    base = {"id": 1, "at": None, "target": None, "detail": None, "client_address": "10.0.0.9"}
    return SimpleNamespace(**{**base, **fields})


def test_audit_entries_in_words() -> None:
    refused = describe(
        entry(
            actor="user:admin",
            action="login.failed",
            target="admin",
            detail={"outcome": "wrong_password"},
        ),
        {},
    )
    assert (refused.who, refused.who_kind) == ("nobody signed in", "nobody")
    assert refused.target == "user name typed: admin"
    assert refused.details == [("reason", "wrong user name or password")]
    by_key = describe(
        entry(actor="api_key:2", action="api_key.revoke", target="api_key:2"), {"2": "erp"}
    )
    assert by_key.who == "API key “erp”" and by_key.target == "API key “erp”"
    batch = describe(
        entry(
            actor="user:ana",
            action="message.resend",
            target="batch:40",
            detail={"from": [1, 2], "as": [40, 41], "unknown_confirmed": 1},
        ),
        {},
    )
    assert (batch.target, batch.target_href) == ("Batch #40", "/outbox?batch=40")
    assert batch.action == "Messages sent again"
    assert batch.details == [
        ("messages sent again", "1, 2"),
        ("new messages", "40, 41"),
        ("unknown ones confirmed", "1"),
    ]


@pytest.mark.parametrize("text", ["Ana\r,+5511987654321", "Ana,+55119\r87654321\nBia,1"])
def test_a_contacts_csv_with_a_lone_carriage_return_reads_or_is_refused_in_words(
    text: str,
) -> None:
    try:
        rows = contact_import._rows(text)
    except Invalid as exc:
        assert exc.code == "invalid_csv" and exc.field == "file"
    else:
        assert rows and all(isinstance(name, str) for _, name, _ in rows)
