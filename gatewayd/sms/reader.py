"""A cursor over PDU octets whose every read either succeeds or raises :class:`PduError`."""

from __future__ import annotations

from gatewayd.sms.errors import PduError


class OctetReader:
    """Reads fields front to back; running short names the field that was cut off."""

    __slots__ = ("data", "position")

    def __init__(self, data: bytes, position: int = 0) -> None:
        self.data = data
        self.position = position

    def octet(self, field: str) -> int:
        position = self.position
        if position >= len(self.data):
            raise PduError(f"PDU truncated: missing {field} at octet {position}")
        self.position = position + 1
        return self.data[position]

    def take(self, count: int, field: str) -> bytes:
        start = self.position
        end = start + count
        if end > len(self.data):
            raise PduError(
                f"PDU truncated: {field} needs {count} octets at octet {start}, "
                f"only {len(self.data) - start} left"
            )
        self.position = end
        return self.data[start:end]

    def remaining(self) -> int:
        return len(self.data) - self.position
