"""Alerts: modem offline or quarantined, messages failed, SIM credit low, queue not moving,
disk nearly full.

``settings`` (what an admin chooses: thresholds, quiet periods, channels; pure checks),
``decide`` (pure: from an alert's state and whether its condition holds, what to do now),
``observe`` (the conditions read from the database and the disk), ``notify`` (mail through the
outbox, webhooks through the dispatcher's deliveries), ``runner`` (the evaluation loop that
every web process running the dispatcher runs; a compare-and-set on each ``alert_states`` row
makes one of them act), ``service`` (settings and lists for the API and the pages, audited).
"""
