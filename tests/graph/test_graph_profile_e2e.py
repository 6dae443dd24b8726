"""A saved Graph profile end to end: keyring secret -> oauth.credential_for (msal) -> check -> send."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.fixtures.graph_endpoint import GraphEndpoint
from tests.graph.support import APP_ID, MAILBOX, graph_profile, mime
from wizard.services import accounts, secrets
from wizard.services.check import StepStatus, check_profile
from wizard.services.model import Profile
from wizard.services.secrets import SecretKind

pytestmark = [pytest.mark.asyncio, pytest.mark.keyring]

SECRET = "local-test-secret"


@pytest.fixture
def saved_profile(graph_endpoint: GraphEndpoint, ca_file: str, profile_name: str,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[Profile]:
    # requests (msal) lets REQUESTS_CA_BUNDLE override a session's `verify`; point it at the local CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    graph_endpoint.register_app(APP_ID, SECRET, roles=("Mail.Send", "Mail.ReadWrite"))
    profile = graph_profile(graph_endpoint, ca_file, authority=f"{graph_endpoint.url}/contoso.example")
    profile = accounts.save_profile(replace(profile, name=profile_name))
    secrets.store_secret(profile.name, SecretKind.CLIENT_SECRET, SECRET)
    yield profile
    accounts.remove_profile(profile.name)


async def test_saved_graph_profile_checks_and_sends(graph_endpoint: GraphEndpoint, saved_profile: Profile) -> None:
    report = await check_profile(saved_profile)
    assert report.ok, report.diagnosis
    assert [s.status for s in report.steps] == [StepStatus.PASSED] * 3

    async with await accounts.transport_for(saved_profile) as transport:
        result = await transport.send(MAILBOX, ["ops@example.net"], mime())
    assert result.reply.startswith("202")
    assert [m.route for m in graph_endpoint.received] == ["mime"]
    assert graph_endpoint.token_requests[0]["scope"] == "https://graph.microsoft.com/.default"
