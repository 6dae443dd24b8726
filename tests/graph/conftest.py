"""The local Graph endpoint fixture for these tests (the root conftest owns pytest_plugins)."""

from tests.fixtures.graph_endpoint import graph_endpoint

__all__ = ["graph_endpoint"]
