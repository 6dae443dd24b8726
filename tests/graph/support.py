"""Profiles and token sources that point the real Graph code at the local endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.fixtures.graph_endpoint import GraphEndpoint
from wizard.services.message import TestMail, build_test_message
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.transports.base import TokenCredential

MAILBOX = "app@example.com"
APP_ID = "app-1"


def graph_profile(endpoint: GraphEndpoint, ca_file: str, *, auth: AuthMode = AuthMode.CLIENT_SECRET,
                  from_address: str = MAILBOX, **changes: object) -> Profile:
    return Profile(name="graph", provider=ProviderKind.GRAPH, from_address=from_address, auth=auth,
                   client_id=APP_ID, tenant="contoso.example", graph_endpoint=endpoint.url, ca_file=ca_file,
                   port=443, timeout_s=10.0, **changes)  # type: ignore[arg-type]


@dataclass
class RecordingTokenSource:
    """Hands out the given tokens in order (the last one repeats) and records every force_refresh flag."""

    tokens: list[str]
    calls: list[bool] = field(default_factory=list)

    async def __call__(self, force_refresh: bool) -> str:
        self.calls.append(force_refresh)
        if force_refresh and len(self.tokens) > 1:
            self.tokens.pop(0)
        return self.tokens[0]

    def credential(self, username: str = MAILBOX) -> TokenCredential:
        return TokenCredential(username, self)


def mime(to: tuple[str, ...] = ("someone@example.net",), sender: str = MAILBOX, subject: str = "Graph test",
         body: str = "Hello through Graph.") -> bytes:
    return build_test_message(TestMail(from_address=sender, to=to, subject=subject, body=body)).as_bytes()
