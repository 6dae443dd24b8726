"""Where the admin signs in and where Graph answers, for the global cloud or a national one (pure)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from wizard.services.model import Profile, ProviderKind
from wizard.services.oauth.microsoft import authority_for, ca_bundle, graph_resource

DEFAULT_ADMIN_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"  # Microsoft Graph Command Line Tools


@dataclass(frozen=True)
class Endpoints:
    tenant: str = ""  # empty: "organizations" (any work account; the tenant is read after sign-in)
    authority: str = ""  # https URL of the login host (or a full authority), empty: the global cloud
    graph_endpoint: str = ""  # https URL of Graph, empty: derived from the authority's cloud
    ca_file: str = ""

    def profile(self, name: str = "m365-admin", **values: object) -> Profile:
        """A profile carrying these endpoints, so msal and httpx are set up exactly as for sending."""
        base = Profile(name=name, provider=ProviderKind.GRAPH, tenant=self.tenant, authority=self.authority,
                       graph_endpoint=self.graph_endpoint, ca_file=self.ca_file)
        return replace(base, **values)  # type: ignore[arg-type]

    @property
    def authority_url(self) -> str:
        return authority_for(self.profile()).url

    @property
    def graph_resource(self) -> str:
        """The token audience for Graph in this cloud (scopes are `<resource>/<permission>`)."""
        return graph_resource(self.profile())

    @property
    def graph_api(self) -> str:
        return f"{(self.graph_endpoint or self.graph_resource).rstrip('/')}/v1.0"

    def tls_context(self) -> ssl.SSLContext:
        """Verified TLS for Graph: the CA file, else REQUESTS_CA_BUNDLE / SSL_CERT_FILE, else the system store."""
        bundle = ca_bundle(self.profile())
        return ssl.create_default_context(cafile=bundle) if bundle else ssl.create_default_context()

    def with_tenant(self, tenant: str) -> Endpoints:
        return replace(self, tenant=tenant)

    def validate(self) -> str:
        """'' when usable, else what is wrong in words (https only: tokens never travel over plain HTTP)."""
        for label, value in (("--authority", self.authority), ("--graph-endpoint", self.graph_endpoint)):
            if value and urlsplit(value).scheme != "https":
                return f"{label} must be an https URL, not {value}."
        return ""
