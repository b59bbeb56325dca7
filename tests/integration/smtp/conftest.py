"""The email-to-SMS server's fixture (:mod:`tests.support.smtp_gateway`)."""

from tests.support.smtp_gateway import smtp_gateway

__all__ = ["smtp_gateway"]
