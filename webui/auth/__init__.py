"""Who may do what: users and passwords, API keys, sessions, CSRF, login throttling, roles."""
