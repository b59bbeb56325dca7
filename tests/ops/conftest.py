"""The operations tier: production files (compose, nginx, systemd, udev, alerts, scripts)
checked with the real tools — docker-compose, nginx, systemd-analyze, udevadm, promtool,
pg_dump/psql — on this machine, without Docker. Every test here is marked ``ops``
(:mod:`tests.support.tiers`)."""
