"""Pure classification of the lines a modem sends: no I/O, no state beyond the arguments.

A received line is one of: a final result code (`OK`, `ERROR`, `+CMS ERROR: n`, ...), a line
of the pending command's answer, an unsolicited result code (`+CMTI`, `+CMT` whose PDU follows on
the next line, `RING`, ...), the echo of what we sent, or noise (garbage bytes, vendor chatter,
stray lines). The transport splits the byte stream and asks `classify()` about each line.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

CTRL_Z = b"\x1a"
ESC = b"\x1b"

# Unsolicited codes the layer above may care about. Codes marked True are followed by a PDU line.
KNOWN_UNSOLICITED: dict[str, bool] = {
    "+CMTI": False,
    "+CMT": True,
    "+CDSI": False,
    "+CDS": True,
    "+CBMI": False,
    "+CBM": True,
    "+CREG": False,
    "+CGREG": False,
    "+CEREG": False,
    "+CUSD": False,
    "RING": False,
    "+CRING": False,
    "+CLIP": False,
    "+CIEV": False,
    "+CGEV": False,
    "NO CARRIER": False,
}

_SIMPLE_FINALS = {
    "OK": True,
    "ERROR": False,
    "NO CARRIER": False,
    "NO DIALTONE": False,
    "BUSY": False,
    "NO ANSWER": False,
    "COMMAND NOT SUPPORT": False,
    "TOO MANY PARAMETERS": False,
}
_ERROR_RE = re.compile(r"^\+(CMS|CME) ERROR:?\s*(.*)$", re.IGNORECASE)
_NAME_RE = re.compile(r"^([+^$%*][A-Za-z0-9_]+)\s*:")
_HEX_RE = re.compile(r"^[0-9A-Fa-f]+$")


class LineKind(enum.Enum):
    FINAL = "final"
    RESPONSE = "response"
    UNSOLICITED = "unsolicited"
    ECHO = "echo"
    NOISE = "noise"


@dataclass(frozen=True)
class FinalResult:
    """A final result code: `ok`, and for errors the kind ('ERROR', 'CMS', 'CME'), code, text."""

    ok: bool
    kind: str
    code: int | None = None
    text: str = ""


@dataclass(frozen=True)
class PendingContext:
    """What the line classifier needs to know about the command in flight."""

    command: str
    prefix: str | None = None
    sent_pdu: str | None = None


@dataclass(frozen=True)
class Line:
    """One classified line. `name` is the code's name (`+CMTI`, `^RSSI`, `RING`) when it has one."""

    kind: LineKind
    text: str
    name: str | None = None
    final: FinalResult | None = None
    pdu_follows: bool = False


def clean_line(raw: bytes) -> tuple[str, bool]:
    """Decode one raw line: returns (printable text, whether non-printable bytes were removed)."""
    try:
        text = raw.decode("utf-8")
        damaged = False
    except UnicodeDecodeError:
        text = raw.decode("ascii", errors="ignore")
        damaged = True
    kept = []
    for char in text:
        if char == "\t":
            kept.append(" ")
        elif char < " " or char == "\x7f" or ("\x80" <= char < "\xa0"):
            damaged = True
        else:
            kept.append(char)
    return "".join(kept).strip(), damaged


def code_name(text: str) -> str | None:
    """`+CMTI: "SM",3` -> `+CMTI`; `RING` -> `RING`; plain data -> None."""
    match = _NAME_RE.match(text)
    if match:
        return match.group(1).upper()
    upper = text.upper()
    if upper in KNOWN_UNSOLICITED:
        return upper
    return None


def parse_final(text: str) -> FinalResult | None:
    """The final result code in `text`, or None when the line is not one."""
    upper = text.upper()
    if upper in _SIMPLE_FINALS:
        ok = _SIMPLE_FINALS[upper]
        return FinalResult(ok=ok, kind="OK" if ok else "ERROR", text=upper)
    match = _ERROR_RE.match(text)
    if not match:
        return None
    kind = match.group(1).upper()
    detail = match.group(2).strip()
    code = int(detail) if detail.isascii() and detail.isdigit() else None
    return FinalResult(ok=False, kind=kind, code=code, text=detail)


def header_expects_pdu(name: str, text: str) -> bool:
    """PDU-mode `+CMT: [alpha],<len>` / `+CDS: <len>` / `+CBM: <len>` headers carry a length."""
    if not KNOWN_UNSOLICITED.get(name, False):
        return False
    fields = text.split(":", 1)[1].split(",") if ":" in text else []
    if not fields or len(fields) > 2:
        return False
    length = fields[-1].strip()
    return length.isascii() and length.isdigit()


def header_length(text: str) -> int | None:
    """The trailing `<length>` field of a PDU-mode header, if any."""
    tail = text.rsplit(",", 1)[-1].split(":")[-1].strip()
    return int(tail) if tail.isascii() and tail.isdigit() else None


def is_pdu_line(text: str, tpdu_length: int | None = None) -> bool:
    """Whether `text` is a hex PDU, and (when known) carries `tpdu_length` TPDU octets."""
    if not text or len(text) % 2 or not _HEX_RE.match(text):
        return False
    if tpdu_length is None:
        return True
    octets = len(text) // 2
    if octets == tpdu_length:
        return True
    return octets - tpdu_length - 1 == int(text[:2], 16)


def is_echo(text: str, context: PendingContext | None) -> bool:
    """Whether `text` is the modem echoing what we sent (possibly after leftover junk)."""
    if context is None:
        return False
    upper = text.upper()
    if context.command and upper.endswith(context.command.upper()):
        return True
    return context.sent_pdu is not None and context.sent_pdu.upper() in upper


def classify(text: str, damaged: bool, context: PendingContext | None) -> Line:
    """Classify one cleaned line, given the command in flight (None when idle)."""
    if not text:
        return Line(LineKind.NOISE, text)
    if is_echo(text, context):
        return Line(LineKind.ECHO, text)
    if damaged:
        return Line(LineKind.NOISE, text)
    final = parse_final(text)
    if final is not None:
        if context is None:
            name = final.text if final.text in KNOWN_UNSOLICITED else None
            kind = LineKind.UNSOLICITED if name else LineKind.NOISE
            return Line(kind, text, name=name)
        return Line(LineKind.FINAL, text, final=final)
    name = code_name(text)
    if context is not None and context.prefix is not None and name == context.prefix.upper():
        return Line(LineKind.RESPONSE, text, name=name)
    if name in KNOWN_UNSOLICITED:
        assert name is not None
        follows = header_expects_pdu(name, text)
        return Line(LineKind.UNSOLICITED, text, name=name, pdu_follows=follows)
    if name is not None and name.startswith("^"):
        return Line(LineKind.UNSOLICITED, text, name=name)  # vendor chatter (^RSSI, ^BOOT)
    if context is None:
        kind = LineKind.UNSOLICITED if name else LineKind.NOISE
        return Line(kind, text, name=name)
    if name is not None and context.prefix is not None:
        return Line(LineKind.UNSOLICITED, text, name=name)
    return Line(LineKind.RESPONSE, text, name=name)


def find_prompt(buffer: bytes) -> int | None:
    """If the unterminated `buffer` is the `> ` prompt, the number of bytes it occupies."""
    stripped = buffer.lstrip(b"\r\n")
    if not stripped.startswith(b">"):
        return None
    rest = stripped[1:]
    if rest.strip(b" ") and not rest.startswith(b" "):
        return None
    consumed = len(buffer) - len(stripped) + 1
    if rest.startswith(b" "):
        consumed += 1
    return consumed
