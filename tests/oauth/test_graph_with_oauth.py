"""The token API under the Graph transport: oauth.credential_for -> GraphTransport, local IdP + local Graph."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.fixtures.graph_endpoint import GraphEndpoint, graph_endpoint
from tests.fixtures.identity_provider import CONFIDENTIAL_CLIENT, TENANT, IdentityProvider
from tests.graph.support import MAILBOX, graph_profile, mime
from wizard.services import accounts, secrets
from wizard.services.secrets import SecretKind

__all__ = ["graph_endpoint"]

pytestmark = [pytest.mark.keyring, pytest.mark.asyncio]


async def test_client_secret_token_sends_through_graph(identity_provider: IdentityProvider,
                                                       graph_endpoint: GraphEndpoint, ca_file: str,
                                                       profile_name: str) -> None:
    graph_endpoint.accept_audience = "https://graph.microsoft.com"
    secrets.store_secret(profile_name, SecretKind.CLIENT_SECRET, "good-secret")
    profile = replace(graph_profile(graph_endpoint, ca_file, authority=identity_provider.url), name=profile_name,
                      client_id=CONFIDENTIAL_CLIENT, tenant=TENANT)

    async with await accounts.transport_for(profile) as transport:
        await transport.send(MAILBOX, ["someone@example.net"], mime())

    assert len(graph_endpoint.received) == 1
    assert identity_provider.grant_types == ["client_credentials"]
