"""Who asks a service for something: the audit's actor and the client's address."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    actor: str
    """``user:<name>`` or ``api_key:<name>``: written to the audit log and ``created_by``."""
    client_address: str | None
