"""The integration tier's fixtures (real PostgreSQL, SQLite files, Redis) live in
:mod:`tests.fixtures_db`, loaded for the whole suite by ``tests/conftest.py``; read its
docstring for ``pg_url``, ``sqlite_url``, ``db_url``, ``db`` and ``redis_url``.
Do not star-import them into another ``conftest.py``: session fixtures defined twice would
create their template database twice."""

__all__: list[str] = []
