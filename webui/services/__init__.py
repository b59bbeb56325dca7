"""Domain logic of the web side, below every front door: what the JSON API, the pages and the
Kannel endpoint ask for, decided without HTTP (no aiohttp here). Failures are the errors of
:mod:`.errors`; each front door turns them into its own answer."""
