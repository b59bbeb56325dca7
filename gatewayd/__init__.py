"""SMS gateway daemon: owns GSM modems, the durable send queue, delivery reports and the inbox.

Layers, each importing only the ones before it:
``sms`` (pure PDU codec) → ``modem`` (AT transport, drivers, simulator) → core (store, queue,
reports, inbox, bus, daemon) → ``cli``.
"""

__version__ = "0.1.0"
