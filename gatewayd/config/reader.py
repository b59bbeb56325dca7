"""Typed reading of one TOML table, with one-line errors that say where the mistake is.

Each :class:`TableReader` remembers the keys it was asked for, so :meth:`TableReader.finish`
can report any key nobody asked for: a misspelt setting is an error, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class SettingsError(ValueError):
    """The settings cannot be used; ``str()`` is one line naming the file, table and key."""


class TableReader:
    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        """``where`` names the table in messages, e.g. ``"/etc/gw.toml: [web]"``."""
        self.data = data
        self.where = where
        self._asked: set[str] = set()

    def error(self, key: str, problem: str) -> SettingsError:
        return SettingsError(f"{self.where} {key}: {problem}")

    def _get(self, key: str) -> Any:
        self._asked.add(key)
        return self.data.get(key)

    def has(self, key: str) -> bool:
        return key in self.data

    def string(self, key: str, default: T) -> str | T:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {_describe(value)}")
        return value

    def integer(self, key: str, default: T, *, minimum: int | None = None) -> int | T:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {_describe(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def number(self, key: str, default: float, *, positive: bool = True) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, got {_describe(value)}")
        if positive and value <= 0:
            raise self.error(key, f"must be greater than 0, got {value}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {_describe(value)}")
        return value

    def string_list(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(key, f"must be a list of strings, got {_describe(value)}")
        return tuple(value)

    def table(self, key: str) -> TableReader:
        value = self._get(key)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, got {_describe(value)}")
        if self.where.endswith("]"):
            return TableReader(value, f"{self.where[:-1]}.{key}]")
        return TableReader(value, f"{self.where} [{key}]")

    def finish(self) -> None:
        """Raise for the first key in this table that no setting reads."""
        unknown = [key for key in self.data if key not in self._asked]
        if unknown:
            known = ", ".join(sorted(self._asked))
            raise SettingsError(f"{self.where} unknown key {unknown[0]!r} (known keys: {known})")


def _describe(value: Any) -> str:
    kinds = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }
    kind = kinds.get(type(value), type(value).__name__)
    shown = repr(value)
    return f"{kind} ({shown})" if len(shown) <= 40 else kind
