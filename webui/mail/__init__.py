"""Outgoing mail: ``message`` builds a header-safe mail from an ``outgoing_mail`` row;
``sender`` claims due rows across processes and delivers them through the relay
(``SMSGW_MAIL_URL``) with retries."""
