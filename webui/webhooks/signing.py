"""Webhook signatures: ``X-Signature: sha256=<hex>``, HMAC-SHA256 of the raw body with the
API key's webhook secret. Receivers recompute it over the bytes they received."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SIGNATURE_HEADER = "X-Signature"
EVENT_HEADER = "X-Event"
TIMESTAMP_HEADER = "X-Timestamp"
DELIVERY_HEADER = "X-Delivery-Id"


def body_bytes(payload: Any) -> bytes:
    """The exact bytes sent (and signed) for a payload: compact, key order kept."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, body), header)
