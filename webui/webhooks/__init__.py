"""Webhooks: events derived durably from the database, signed, delivered with retries."""
