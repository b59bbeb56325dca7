"""The daemon as a service: its main loop and housekeeping, and the process plumbing around it
(opening the database, the data-folder lock, heartbeat, systemd, local wake-ups)."""
