"""The user data header (TS 23.040 §9.2.3.24): concatenation read and written, other IEs skipped."""

from __future__ import annotations

from dataclasses import dataclass

from gatewayd.sms.errors import PduError

IEI_CONCAT_8BIT = 0x00
IEI_CONCAT_16BIT = 0x08
MAX_CONCAT_REF = 0xFFFF


@dataclass(frozen=True, slots=True)
class Concat:
    """Which part of which concatenated message: reference, total parts, this part (1-based)."""

    ref: int
    total: int
    seq: int


def parse_udh(header: bytes) -> Concat | None:
    """Concatenation info from the header's information elements (UDHL excluded).

    A concatenation IE whose total or sequence number is 0, or whose sequence number exceeds
    the total, is ignored as §9.2.3.24.1 tells receivers to do.
    """
    concat: Concat | None = None
    position = 0
    while position < len(header):
        if position + 2 > len(header):
            raise PduError(f"bad user data header: element at octet {position} has no length")
        identifier, length = header[position], header[position + 1]
        body = header[position + 2 : position + 2 + length]
        if len(body) != length:
            raise PduError(
                f"bad user data header: element 0x{identifier:02X} needs {length} octets, "
                f"only {len(body)} left"
            )
        position += 2 + length
        if identifier == IEI_CONCAT_8BIT and length == 3:
            candidate = Concat(body[0], body[1], body[2])
        elif identifier == IEI_CONCAT_16BIT and length == 4:
            candidate = Concat(body[0] << 8 | body[1], body[2], body[3])
        else:
            continue
        if 1 <= candidate.seq <= candidate.total:
            concat = candidate
    return concat


def concat_udh(ref: int, total: int, seq: int) -> bytes:
    """A whole header (UDHL included): 8-bit reference below 256, 16-bit reference above."""
    if ref < 256:
        return bytes((5, IEI_CONCAT_8BIT, 3, ref, total, seq))
    return bytes((6, IEI_CONCAT_16BIT, 4, ref >> 8, ref & 0xFF, total, seq))


def concat_udh_length(ref: int) -> int:
    """Octets (UDHL included) of the header :func:`concat_udh` writes for ``ref``."""
    return 6 if ref < 256 else 7
