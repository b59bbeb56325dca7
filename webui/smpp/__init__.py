"""The SMPP 3.4 server: a front door beside the web UI and API for client systems (ESMEs such
as Kannel's bearerbox or smpplib) that bind with an account's ``system_id`` and password.

It writes the queue and reads state through :mod:`webui.services` and the queue's own
functions, and never touches a modem. The layers inside, top to bottom:

- :mod:`~webui.smpp.runtime` — starting and stopping the server on its settings, database and
  bus (``webui smpp``, ``gatewayd run --web``);
- :mod:`~webui.smpp.server` — the listeners (plain and TLS) and the binds they serve;
- :mod:`~webui.smpp.pump` — the ``deliver_sm`` outbox sent to bound receivers;
- :mod:`~webui.smpp.connection` — one TCP connection: framing, the window, timers, requests
  in both directions;
- :mod:`~webui.smpp.operations` — what each request does (bind, submit, query, cancel);
- :mod:`~webui.smpp.submission`, :mod:`~webui.smpp.records`, :mod:`~webui.smpp.outbox`,
  :mod:`~webui.smpp.deliveries` — a submit_sm read into a send, the side table, the outbox
  and the deliver_sm it holds;
- :mod:`~webui.smpp.session` and :mod:`~webui.smpp.statuses` — the bind state machine and
  the mappings between our errors and states and SMPP's, pure tables.

The PDU codec itself is :mod:`gatewayd.smpp`. docs/smpp.md describes the behaviour.
"""
