"""The modem layer: the driver interface the gateway core is typed against (`interface`), the AT
driver and its stack (transport → lines → channel → `at_driver`), and the Gammu driver.

Importing this package loads nothing heavy; import the names from their modules
(`gatewayd.modem.interface.ModemDriver`, `gatewayd.modem.errors.ModemError`, ...).
"""
