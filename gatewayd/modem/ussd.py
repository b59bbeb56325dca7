"""USSD: `AT+CUSD=1,"<code>",15`, the `+CUSD:` unsolicited answer, and decoding its text.

Modems hand the answer back as plain text, as UCS-2 hex (DCS 72 and friends) or as packed GSM
7-bit hex; `decode_ussd_text` tells them apart from the data coding scheme (3GPP TS 23.038 §5).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass

from gatewayd.modem.channel import AtChannel, Unsolicited
from gatewayd.modem.errors import AtTimeout, ErrorAction, ModemError
from gatewayd.sms.gsm7 import septets_to_text, unpack_septets

USSD_TIMEOUT = 30.0
USSD_STATUS = {
    0: "done",
    1: "action_required",
    2: "terminated",
    3: "other_client",
    4: "not_supported",
    5: "timeout",
}
_CODE_RE = re.compile(r"^[0-9*#+]{1,182}$")
_HEX_RE = re.compile(r"^[0-9A-F]+$")
_CUSD_RE = re.compile(r'^\s*(\d+)\s*(?:,\s*"(.*)"\s*(?:,\s*(\d+))?)?\s*$', re.DOTALL)


@dataclass(frozen=True)
class UssdReply:
    status: int
    text: str | None
    dcs: int | None

    @property
    def status_name(self) -> str:
        return USSD_STATUS.get(self.status, str(self.status))


class UssdError(ModemError):
    """The network or modem refused the USSD request."""

    action = ErrorAction.FAIL_MESSAGE


def alphabet_of(dcs: int) -> str:
    """`gsm7`, `ucs2` or `8bit` for a cell-broadcast/USSD data coding scheme."""
    group = dcs >> 4
    if dcs == 0x11:
        return "ucs2"
    if group in (0, 1, 2, 3):
        return "gsm7"
    if group in (4, 5, 6, 7, 9):
        return {0: "gsm7", 1: "8bit", 2: "ucs2"}.get((dcs >> 2) & 0x03, "gsm7")
    if group == 0xF:
        return "8bit" if dcs & 0x04 else "gsm7"
    return "gsm7"


def _looks_like_text(text: str) -> bool:
    return all(char.isprintable() or char in "\r\n" for char in text) and bool(text.strip())


def decode_ussd_text(text: str, dcs: int | None) -> str:
    """Plain text stays as it is; hex-encoded UCS-2 or packed GSM 7-bit is decoded."""
    if dcs is None or not text or len(text) % 2 or not _HEX_RE.match(text.upper()):
        return text
    alphabet = alphabet_of(dcs)
    raw = bytes.fromhex(text)
    if alphabet == "ucs2" and len(raw) % 2 == 0:
        decoded = raw.decode("utf-16-be", errors="replace")
        if dcs == 0x11 and len(decoded) > 1:
            decoded = decoded[1:]  # the language indication
        return decoded if _looks_like_text(decoded) else text
    if alphabet == "gsm7" and len(text) >= 8:
        count = len(raw) * 8 // 7
        septets = unpack_septets(raw, count)
        if count and septets[-1] == 0x0D and len(raw) % 7 == 0:
            septets = septets[:-1]  # CR pads the 7 spare bits of a full final octet
        decoded = septets_to_text(septets).rstrip("@") if septets else ""
        return decoded if _looks_like_text(decoded) else text
    return text


def parse_cusd(args: str) -> UssdReply:
    """`0,"Saldo: R$ 10,00",15` -> status 0, text, dcs 15."""
    match = _CUSD_RE.match(args)
    if not match:
        raise UssdError(f"unparsable +CUSD answer {args!r}", action=ErrorAction.RETRY_LATER)
    status = int(match.group(1))
    dcs = int(match.group(3)) if match.group(3) else None
    raw_text = match.group(2)
    text = decode_ussd_text(raw_text, dcs) if raw_text is not None else None
    return UssdReply(status, text, dcs)


async def request_ussd(
    channel: AtChannel, code: str, *, timeout: float = USSD_TIMEOUT, end_session: bool = True
) -> UssdReply:
    """Send a USSD code and wait for the network's `+CUSD:` answer."""
    if not _CODE_RE.match(code):
        raise UssdError(f"not a USSD code: {code!r}")
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[Unsolicited] = loop.create_future()

    def on_unsolicited(event: Unsolicited) -> None:
        if event.name == "+CUSD" and not answer.done():
            answer.set_result(event)

    remove = channel.add_listener(on_unsolicited)
    try:
        await channel.command(f'AT+CUSD=1,"{code}",15')
        try:
            event = await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            raise AtTimeout(f"no +CUSD answer to {code} within {timeout:g}s") from None
    finally:
        remove()
    reply = parse_cusd(event.args)
    if reply.status == 1 and end_session:
        await _end_session(channel)
    if reply.status in (3, 4):
        raise UssdError(f"USSD {code}: {reply.status_name}")
    if reply.status == 5:
        raise UssdError(f"USSD {code}: network timeout", action=ErrorAction.RETRY_LATER)
    return reply


async def _end_session(channel: AtChannel) -> None:
    with contextlib.suppress(ModemError):
        await channel.command("AT+CUSD=2")
