"""Shared test settings: fixtures every tier may use are loaded here once, and a missing test
tool fails in one line naming its package (:mod:`tests.support.tools`)."""

pytest_plugins = ("tests.fixtures_db", "tests.support.tools")
