"""UCS-2 user data as phones really send it: UTF-16 big-endian, with surrogate pairs."""

from __future__ import annotations


def text_to_ucs2(text: str) -> bytes:
    """UTF-16-BE octets; ValueError when the text holds an unpaired surrogate."""
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError:
        raise ValueError("text contains an unpaired surrogate code point") from None


def ucs2_to_text(data: bytes) -> str:
    """Decode UTF-16-BE leniently: broken pairs or an odd trailing octet become U+FFFD."""
    return data.decode("utf-16-be", errors="replace")


def utf16_units(char: str) -> int:
    """UTF-16 code units one character needs: 2 outside the Basic Multilingual Plane."""
    return 2 if ord(char) > 0xFFFF else 1


def utf16_length(text: str) -> int:
    """UTF-16 code units of the whole text."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
