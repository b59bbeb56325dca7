"""Shared test settings: fixtures every tier may use are loaded here once."""

pytest_plugins = ("tests.fixtures_db",)
