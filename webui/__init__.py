"""Web UI and LAN API: writes the queue, reads state, never touches a modem."""
