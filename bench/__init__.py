"""Benchmarks of the gateway: throughput against the modem's limit, scale, queue latency, API
ingest, queries at size and the peers side by side. ``bench/run_all.py`` runs them all."""
