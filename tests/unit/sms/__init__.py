"""Tests of the gatewayd.sms PDU codec."""
