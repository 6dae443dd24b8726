"""The real msal client-credentials flow against the local token route, then Graph with that token.

Stands in for the OAuth layer's `credential_for` until it lands: the same msal call (scope = the cloud's
Graph resource + /.default, instance discovery off for a non-Microsoft host, the profile's CA file).
"""

from __future__ import annotations

import asyncio

import msal
import pytest

from tests.fixtures.graph_endpoint import GraphEndpoint
from tests.graph.support import APP_ID, MAILBOX, graph_profile, mime
from wizard.services.graph_guide import graph_scope_for
from wizard.services.model import Profile
from wizard.services.transports.base import TokenCredential
from wizard.services.transports.graph import GraphTransport

pytestmark = pytest.mark.asyncio

SECRET = "local-test-secret"


@pytest.fixture(autouse=True)
def requests_trusts_the_local_ca(ca_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the session's `verify` (msal's `verify=`),
    # so the environment variable is what points msal at a private CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def msal_credential(profile: Profile, secret: str, ca_file: str) -> tuple[TokenCredential, list[str]]:
    app = msal.ConfidentialClientApplication(profile.client_id, client_credential=secret,
                                             authority=profile.authority, instance_discovery=False, verify=ca_file)
    scopes = [graph_scope_for(profile.graph_endpoint, profile.authority)]
    sources: list[str] = []

    def acquire(force_refresh: bool) -> str:
        if force_refresh:
            for token in list(app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                app.token_cache.remove_at(token)
        result = app.acquire_token_for_client(scopes=scopes)
        assert "access_token" in result, result.get("error_description")
        sources.append(str(result.get("token_source")))
        return str(result["access_token"])

    async def token_source(force_refresh: bool) -> str:
        return await asyncio.to_thread(acquire, force_refresh)

    return TokenCredential(profile.from_address, token_source), sources


async def test_msal_client_credentials_token_sends_through_graph(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    graph_endpoint.register_app(APP_ID, SECRET)
    profile = graph_profile(graph_endpoint, ca_file, authority=f"{graph_endpoint.url}/contoso.example")
    credential, sources = msal_credential(profile, SECRET, ca_file)

    async with GraphTransport.for_profile(profile, credential) as graph:
        for n in range(3):
            await graph.send(MAILBOX, ["ops@example.net"], mime(subject=f"msal {n}"))

    assert len(graph_endpoint.received) == 3
    [request] = graph_endpoint.token_requests
    assert request["scope"] == "https://graph.microsoft.com/.default"
    assert sources == ["identity_provider", "cache", "cache", "cache"]


async def test_revoked_token_is_replaced_through_msal_once(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    graph_endpoint.register_app(APP_ID, SECRET)
    profile = graph_profile(graph_endpoint, ca_file, authority=f"{graph_endpoint.url}/contoso.example")
    credential, _ = msal_credential(profile, SECRET, ca_file)
    async with GraphTransport.for_profile(profile, credential) as graph:
        graph_endpoint.tokens.clear()  # e.g. consent revoked and re-granted: the cached token is dead
        await graph.send(MAILBOX, ["ops@example.net"], mime())
    assert len(graph_endpoint.token_requests) == 2
    assert len(graph_endpoint.received) == 1
