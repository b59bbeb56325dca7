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

The mail is parsed with the ``compat32`` policy, whose headers are plain strings: the
``default`` policy parses a header again at every read (a mail's ``Content-Type`` some ten
times while its body is looked for), which was a third of the server's CPU per mail. Only the
headers the text needs (the subject) are decoded, once, by the ``default`` policy's own header
classes, and the body is found by the ``default`` policy's rules (:meth:`EmailMessage.get_body`:
``multipart/related`` by its root, attachments skipped), so the result is the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32, default
from email.utils import collapse_rfc2231_value
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
BODY_TYPES = ("plain", "html")
_PARSER = BytesParser(policy=compat32)


class TextRefused(Exception):
    """The mail cannot become an SMS; ``reply`` is the SMTP answer (code, enhanced code,
    text)."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


def parse_mail(content: bytes) -> Message:
    """The mail as a message object; a mail the parser cannot read at all is refused."""
    try:
        message = _PARSER.parsebytes(content)
    except Exception:  # the parser is lenient; anything it still raises is broken input
        raise TextRefused("554 5.6.0 The mail cannot be read") from None
    return message


def sms_text(message: Message, max_length: int) -> str:
    """The SMS text of ``message`` (see the module's docstring) or :class:`TextRefused`."""
    subject = _one_line(header_text(message, "subject"))
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


def header_text(message: Message, name: str) -> str:
    """The first ``name`` header decoded as the ``default`` policy reads it ("" when absent or
    undecodable)."""
    wanted = name.lower()
    for key, raw in message.raw_items():
        if key.lower() == wanted:
            try:
                return str(default.header_fetch_parse(key, raw))
            except Exception:  # a header the policy cannot decode
                return ""
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _is_attachment(part: Message) -> bool:
    return part.get_content_disposition() == "attachment"


def _candidates(part: Message) -> Iterator[tuple[int, Message]]:
    """:meth:`email.message.MIMEPart._find_body` for ``BODY_TYPES``, on compat32 parts."""
    if _is_attachment(part):
        return
    maintype, _, subtype = part.get_content_type().partition("/")
    if maintype == "text":
        if subtype in BODY_TYPES:
            yield BODY_TYPES.index(subtype), part
        return
    if maintype != "multipart" or not part.is_multipart():
        return
    payload = part.get_payload()
    subparts = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
    if subtype != "related":
        for subpart in subparts:
            yield from _candidates(subpart)
        return
    candidate = None
    start = part.get_param("start")
    if start:
        candidate = next((p for p in subparts if p["content-id"] == start), None)
    if candidate is None and subparts:
        candidate = subparts[0]
    if candidate is not None:
        yield from _candidates(candidate)


def _body_part(message: Message) -> Message | None:
    best: tuple[int, Message] | None = None
    for rank, part in _candidates(message):
        if best is None or rank < best[0]:
            best = (rank, part)
            if rank == 0:
                break
    return best[1] if best is not None else None


def _body(message: Message) -> str:
    try:
        part = _body_part(message)
    except Exception:
        part = None
    if part is None:
        return ""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = collapse_rfc2231_value(part.get_param("charset", "ASCII"))
    try:
        content = payload.decode(charset, errors="replace")
    except (LookupError, TypeError):  # unknown charset
        content = payload.decode("utf-8", "replace")
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
