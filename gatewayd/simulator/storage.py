"""Message storages of a simulated modem: SM (SIM), ME (phone), SR (status reports), MT.

Each storage holds PDUs at indices 1..capacity, like a SIM card. Stored messages carry the
27.005 status (0 REC UNREAD, 1 REC READ, 2 STO UNSENT, 3 STO SENT); reading marks them read.
"""

from __future__ import annotations

from dataclasses import dataclass

STORAGE_NAMES = ("SM", "ME", "SR", "MT")
DEFAULT_CAPACITY = 30

REC_UNREAD, REC_READ, STO_UNSENT, STO_SENT, ALL_MESSAGES = 0, 1, 2, 3, 4
TEXT_STATUS = {
    REC_UNREAD: "REC UNREAD",
    REC_READ: "REC READ",
    STO_UNSENT: "STO UNSENT",
    STO_SENT: "STO SENT",
    ALL_MESSAGES: "ALL",
}
STATUS_BY_TEXT = {text: code for code, text in TEXT_STATUS.items()}

# AT+CMGD=<index>,<delflag>: which statuses each flag removes besides <index> itself.
DELETE_FLAG_STATUSES: dict[int, frozenset[int]] = {
    1: frozenset({REC_READ}),
    2: frozenset({REC_READ, STO_SENT}),
    3: frozenset({REC_READ, STO_SENT, STO_UNSENT}),
    4: frozenset({REC_UNREAD, REC_READ, STO_SENT, STO_UNSENT}),
}


@dataclass
class StoredMessage:
    """One occupied slot: the PDU as uppercase hex including the SMSC field."""

    index: int
    status: int
    pdu: str
    tpdu_length: int


class MessageStore:
    """One storage with numbered slots; the lowest free index is used first."""

    def __init__(self, name: str, capacity: int = DEFAULT_CAPACITY) -> None:
        self.name = name
        self.capacity = capacity
        self._slots: dict[int, StoredMessage] = {}

    @property
    def used(self) -> int:
        return len(self._slots)

    @property
    def full(self) -> bool:
        return len(self._slots) >= self.capacity

    def valid_index(self, index: int) -> bool:
        return 1 <= index <= self.capacity

    def store(self, pdu: str, tpdu_length: int, status: int = REC_UNREAD) -> int | None:
        """The index the PDU was stored at, or None when the storage is full."""
        if self.full:
            return None
        index = next(i for i in range(1, self.capacity + 1) if i not in self._slots)
        self._slots[index] = StoredMessage(index, status, pdu, tpdu_length)
        return index

    def read(self, index: int, *, mark_read: bool = True) -> StoredMessage | None:
        message = self._slots.get(index)
        if message is None:
            return None
        snapshot = StoredMessage(message.index, message.status, message.pdu, message.tpdu_length)
        if mark_read and message.status == REC_UNREAD:
            message.status = REC_READ
        return snapshot

    def listing(self, status: int, *, mark_read: bool = True) -> list[StoredMessage]:
        """Messages with ``status`` (4 = all) in index order, as they were before reading."""
        found = []
        for index in sorted(self._slots):
            message = self._slots[index]
            if status == ALL_MESSAGES or message.status == status:
                found.append(self.read(index, mark_read=mark_read))
        return [message for message in found if message is not None]

    def delete(self, index: int) -> None:
        self._slots.pop(index, None)

    def delete_by_statuses(self, statuses: frozenset[int]) -> None:
        for index in [i for i, m in self._slots.items() if m.status in statuses]:
            del self._slots[index]

    def clear(self) -> None:
        self._slots.clear()


def new_storages(
    capacity: int = DEFAULT_CAPACITY, names: tuple[str, ...] = STORAGE_NAMES
) -> dict[str, MessageStore]:
    return {name: MessageStore(name, capacity) for name in names}
