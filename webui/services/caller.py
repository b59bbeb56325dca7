"""Who asks a service for something: the audit's actor, the client's address and the client
account it sends as."""

from __future__ import annotations

from dataclasses import dataclass

from webui.services.accounts import Account


@dataclass(frozen=True)
class Caller:
    actor: str
    """``user:<name>`` or ``api_key:<name>``: written to the audit log and ``created_by``."""
    client_address: str | None
    account: Account | None = None
    """The client account (an API key's, an SMPP bind's): its limits and quotas apply to what
    is sent. None: a signed-in user or the command line, never limited."""
