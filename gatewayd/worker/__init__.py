"""One supervised task per modem: its session, send pipeline and recorder, incoming PDUs, recovery
ladder, stable identity and SIM care."""
