"""A whole local Microsoft 365 tenant: identity provider + Graph (mail and directory API) + the admin's client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.fixtures.directory import Directory
from tests.fixtures.graph_endpoint import GraphEndpoint, graph_endpoint
from tests.fixtures.identity_provider import App, IdentityProvider, identity_provider
from tests.fixtures.xoauth2_smtp import xoauth2_smtp_server
from tests.gui.conftest import collect_qt_garbage
from tests.oauth.conftest import system_browser
from wizard.services import m365

__all__ = ["collect_qt_garbage", "graph_endpoint", "identity_provider", "system_browser", "xoauth2_smtp_server"]

SENDER = "app@example.com"  # the identity provider's signed-in user, and a mailbox of the Graph endpoint
FAST = m365.WaitPolicy(limit_s=20.0, first_delay_s=0.05, max_delay_s=0.2)


@dataclass
class Tenant:
    idp: IdentityProvider
    graph: GraphEndpoint
    directory: Directory
    ca_file: str

    @property
    def endpoints(self) -> m365.Endpoints:
        return m365.Endpoints(authority=self.idp.url, graph_endpoint=self.graph.url, ca_file=self.ca_file)

    def request(self, profile: str, mode: m365.SetupMode, **values: object) -> m365.SetupRequest:
        settings: dict[str, object] = {"endpoints": self.endpoints, "wait": FAST, **values}
        return m365.SetupRequest(profile, str(settings.pop("sender", SENDER)), mode, **settings)  # type: ignore[arg-type]


@pytest.fixture
def tenant(identity_provider: IdentityProvider, graph_endpoint: GraphEndpoint, ca_file: str,
           system_browser: object) -> Iterator[Tenant]:
    """The admin signs in through $BROWSER (the provider's user app@example.com, a Global Administrator)."""
    identity_provider.register(App(m365.DEFAULT_ADMIN_CLIENT_ID))
    graph_endpoint.accept_audience = "https://graph.microsoft.com"
    graph_endpoint.directory = Directory(identity_provider)
    yield Tenant(identity_provider, graph_endpoint, graph_endpoint.directory, ca_file)
