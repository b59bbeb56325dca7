"""The AT modem layer: transport, channel, driver and (in `simulator`) simulated modems.

Importing this package loads nothing heavy; import the names from their modules
(`gatewayd.modem.driver.AtModem`, `gatewayd.modem.errors.ModemError`, ...).
"""
