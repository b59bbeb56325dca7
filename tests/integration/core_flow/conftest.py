"""The core-flow tier reuses the integration fixtures (databases, Redis)."""

from tests.integration.conftest import *  # noqa: F403
