"""The codec's exceptions: a malformed PDU, and a text too long to send."""

from __future__ import annotations


class PduError(ValueError):
    """A malformed PDU. ``str()`` is always a single line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class TextTooLong(ValueError):
    """The text would need more parts than a concatenated SMS can carry (255), or more than one
    when it is a part of a message its sender split itself."""
