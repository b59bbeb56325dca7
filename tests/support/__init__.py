"""Helpers shared by the fault, load and soak tiers (and open to every other tier).

``audit``: the end-of-scenario check of the database against the simulator's ledger;
``services``: private PostgreSQL clusters and Redis servers that a test may stop and kill;
``daemons``: ``gatewayd run`` and ``webui run`` as processes, enqueueing in bulk.
"""
