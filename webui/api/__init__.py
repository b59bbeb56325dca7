"""The REST API (SPEC §3.5): JSON in and out, errors as ``{"error": {code, message, field?}}``."""
