"""The email-to-SMS server: mail to ``<number>@<any domain>`` becomes SMS.

``runtime`` starts and stops it; ``server`` is the SMTP protocol (aiosmtpd) with AUTH checked
against the database; ``handler`` the policy of each command; ``access`` who may send;
``text`` the SMS text made from a mail; ``recipients`` the number a recipient names;
``replies`` the SMTP answers for the services' refusals.
"""
