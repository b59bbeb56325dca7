"""Tests of the gatewayd.smpp SMPP 3.4 codec."""
