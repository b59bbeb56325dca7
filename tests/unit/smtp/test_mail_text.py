"""The SMS text made from a mail (the documented policy) and the numbers recipients name."""

from __future__ import annotations

import pytest

from webui.smtp.recipients import number_of
from webui.smtp.text import TextRefused, html_to_text, parse_mail, sms_text


def text_of(raw: bytes, cap: int = 1000) -> str:
    return sms_text(parse_mail(raw), cap)


def test_subject_then_the_plain_body() -> None:
    assert text_of(b"Subject: Alarm\r\n\r\nPump 3 stopped\r\n") == "Alarm\nPump 3 stopped"


def test_a_body_that_starts_with_the_subject_does_not_repeat_it() -> None:
    assert text_of(b"Subject: Pump 3\r\n\r\nPump 3 stopped\r\n") == "Pump 3 stopped"


def test_encoded_subject_and_utf8_body() -> None:
    raw = (
        b"Subject: =?utf-8?b?QXZpc28gZGUgbWFudXRlbsOnw6Nv?=\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "às 22h".encode()
    )
    assert text_of(raw) == "Aviso de manutenção\nàs 22h"


@pytest.mark.parametrize(
    "quote",
    [
        "On Mon, 1 Dec 2026 at 10:00, Ana <ana@example.com> wrote:",
        "Em seg., 1 de dez. de 2026 às 10:00, Ana <ana@example.com> escreveu:",
        "-----Original Message-----",
        "-----Mensagem original-----",
    ],
)
def test_quoted_replies_are_cut(quote: str) -> None:
    raw = f"Subject: Re: x\r\n\r\nYes, go ahead.\r\n\r\n{quote}\r\nthe old text\r\n".encode()
    assert text_of(raw) == "Re: x\nYes, go ahead."


def test_quoted_lines_and_signatures_are_cut() -> None:
    raw = b"\r\nFine\r\n> you said\r\n>> before\r\nthanks\r\n-- \r\nAna\r\nPhone 555\r\n"
    assert text_of(raw) == "Fine\nthanks"


def test_html_only_becomes_text() -> None:
    raw = (
        b"Subject: News\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><title>t</title><style>p{color:red}</style></head><body>"
        b"<p>Hello&nbsp;<b>world</b> &amp; all</p><script>alert(1)</script><div>bye</div>"
    )
    assert text_of(raw) == "News\nHello world & all\n\nbye"


def test_multipart_alternative_takes_the_plain_part_and_ignores_attachments() -> None:
    raw = (
        b'Subject: s\r\nContent-Type: multipart/mixed; boundary="M"\r\n\r\n'
        b'--M\r\nContent-Type: multipart/alternative; boundary="A"\r\n\r\n'
        b"--A\r\nContent-Type: text/plain\r\n\r\nplain words\r\n"
        b"--A\r\nContent-Type: text/html\r\n\r\n<p>html words</p>\r\n--A--\r\n"
        b"--M\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt"
        b"\r\n\r\nattached\r\n--M--\r\n"
    )
    assert text_of(raw) == "s\nplain words"


def test_blank_runs_collapse() -> None:
    assert text_of(b"\r\na  \r\n\r\n\r\n\r\nb\r\n") == "a\n\nb"


def test_no_text_is_refused() -> None:
    with pytest.raises(TextRefused) as refused:
        text_of(b"Subject:   \r\n\r\n-- \r\nsig only\r\n")
    assert refused.value.reply.startswith("554 5.6.0")


def test_over_the_cap_is_refused_never_truncated() -> None:
    with pytest.raises(TextRefused) as refused:
        text_of(b"Subject: s\r\n\r\n" + b"x" * 20, cap=10)
    assert refused.value.reply == "552 5.3.4 The SMS text would be 22 characters; at most 10"


@pytest.mark.parametrize(
    "raw",
    [
        b'Content-Type: multipart/mixed; boundary="never"\r\n\r\nno parts at all',
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nh\xe9llo",
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64@@@",
        b"Subject: =?utf-8?q?broken=ZZ?=\r\n\r\nbody",
        b"\x00\x01\x02 garbage without headers \xff\xfe",
        b"Content-Type: text/html\r\n\r\n<p <<<>>> </b></i><!-- unterminated",
        b"",
    ],
)
def test_malformed_mime_gives_text_or_a_refusal_never_an_exception(raw: bytes) -> None:
    try:
        text = text_of(raw)
    except TextRefused as refused:
        assert refused.reply[:3] in {"552", "554"}
    else:
        assert isinstance(text, str) and text


def test_html_to_text_keeps_blocks_on_lines() -> None:
    assert html_to_text("<ul><li>a</li><li>b</li></ul>").split() == ["a", "b"]


@pytest.mark.parametrize(
    ("address", "region", "number"),
    [
        ("+5511987654321@sms.example", None, "+5511987654321"),
        ("5511987654321@any.domain", None, "+5511987654321"),
        ("11987654321@x", "BR", "+5511987654321"),
        ("5511987654321@x", "BR", "+5511987654321"),
        ("(11) 98765-4321@x", "BR", "+5511987654321"),
        ('"+55 11 98765.4321"@x', None, "+5511987654321"),
        ("11987654321@x", None, None),
        ("bob@x", "BR", None),
        ("123@x", "BR", None),
        ("+55119876543210000000000@x", "BR", None),
        ("@x", "BR", None),
    ],
)
def test_the_number_a_recipient_names(address: str, region: str | None, number: str | None) -> None:
    assert number_of(address, region) == number
