"""The SMS text made from a mail, by one documented policy (docs/automation.md):

1. The subject (decoded, on one line) comes first, then a line break and the body; either may
   be missing. A body that starts with the subject does not repeat it.
2. The body is the first ``text/plain`` part that is not an attachment; without one, the first
   ``text/html`` part turned into text (tags dropped, ``<br>`` and block ends as line breaks,
   entities decoded, ``<script>`` and ``<style>`` left out). Other parts are ignored.
3. A quoted reply is cut off: lines starting with ``>``, and everything from a line such as
   ``On Mon, … wrote:`` / ``Em …, … escreveu:`` or ``-----Original Message-----`` /
   ``-----Mensagem original-----`` on.
4. A signature is cut off: everything from the line ``-- `` (RFC 3676) or ``--`` on.
5. Trailing spaces go, runs of blank lines become one, the text is trimmed.
6. Empty text refuses the mail; text longer than the cap refuses it too (never truncated).

Pure functions: no I/O, no SMTP. :class:`TextRefused` carries the SMTP answer.
"""

from __future__ import annotations

import re
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import default
from html.parser import HTMLParser

REPLY_HEADER = re.compile(
    r"^(?:On\s.{0,200}\swrote:|Em\s.{0,200}\sescreveu:|-{2,}\s*(?:Original Message|"
    r"Mensagem original|Forwarded message|Mensagem encaminhada)\s*-{2,})\s*$",
    re.IGNORECASE,
)
SIGNATURE = re.compile(r"^--\s?$")
BLANK_RUNS = re.compile(r"\n{3,}")
BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table"})
HIDDEN = frozenset({"script", "style", "head", "title"})


class TextRefused(Exception):
    """The mail cannot become an SMS; ``reply`` is the SMTP answer (code, enhanced code,
    text)."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


def parse_mail(content: bytes) -> EmailMessage:
    """The mail as a message object; a mail the parser cannot read at all is refused."""
    try:
        message = BytesParser(policy=default).parsebytes(content)
    except Exception:  # the parser is lenient; anything it still raises is broken input
        raise TextRefused("554 5.6.0 The mail cannot be read") from None
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy=default gives these
        raise TextRefused("554 5.6.0 The mail cannot be read")
    return message


def sms_text(message: EmailMessage, max_length: int) -> str:
    """The SMS text of ``message`` (see the module's docstring) or :class:`TextRefused`."""
    subject = _one_line(_header(message, "subject"))
    body = _clean(_body(message))
    if subject and body.startswith(subject):
        text = body
    else:
        text = "\n".join(part for part in (subject, body) if part)
    if not text:
        raise TextRefused("554 5.6.0 The mail has no text for an SMS (subject and body empty)")
    if len(text) > max_length:
        raise TextRefused(
            f"552 5.3.4 The SMS text would be {len(text)} characters; at most {max_length}"
        )
    return text


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the policy cannot decode
        return ""
    return str(value) if value is not None else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _body(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # unknown charset, broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    return content


def _clean(body: str) -> str:
    kept: list[str] = []
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if SIGNATURE.match(line) or REPLY_HEADER.match(line.strip()):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self.hidden += 1
        elif tag in BLOCKS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in BLOCKS:
            self.pieces.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.pieces.append(" ".join(data.split(" ")))


def html_to_text(html: str) -> str:
    """Visible text of an HTML body, lines kept where blocks end."""
    parser = _TextOfHtml()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # pragma: no cover - HTMLParser is lenient
        return ""
    lines = ("".join(parser.pieces)).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines)
