"""Catalogue entries (wizard/services/providers.py) turned into proposals: by domain, by MX, by SMTP host."""

from __future__ import annotations

from collections.abc import Sequence

from wizard.services import providers
from wizard.services.autodetect.model import Proposal, Source, SourceOutcome
from wizard.services.model import ProviderKind, Security

GRAPH_HOST = "graph.microsoft.com"

# The catalogue's auth kinds -> the SMTP AUTH mechanisms a client uses for them.
_MECHANISMS = {"oauth2": ("XOAUTH2",), "app-password": ("PLAIN", "LOGIN"), "password": ("PLAIN", "LOGIN"),
               "api-key": ("PLAIN", "LOGIN"), "smtp-credentials": ("PLAIN", "LOGIN")}


def proposals_for(provider: providers.Provider, address: str, *, source: Source, evidence: str,
                  confidence: float) -> tuple[Proposal, ...]:
    """Every way the catalogue knows to send through `provider`, the catalogue's preferred one first."""
    kinds = [ProviderKind(k) for k in provider.profile_providers] or [ProviderKind.SMTP]
    proposals: list[Proposal] = []
    for kind in kinds:
        if kind is ProviderKind.GRAPH:
            proposals.append(Proposal(provider_kind=kind, catalogue_id=provider.id, host=GRAPH_HOST, port=443,
                                      security=Security.TLS, username_hint=address, source=source,
                                      evidence=evidence, confidence=confidence - 0.05 - 0.01 * len(proposals)))
            continue
        for preset in provider.smtp:
            if not preset.host:
                continue  # per-account hosts (MailUp SMTP+): nothing to propose without the account's console
            proposals.append(Proposal(
                provider_kind=kind, catalogue_id=provider.id, host=preset.host, port=preset.port,
                security=Security(preset.security), auth_mechanisms=_MECHANISMS.get(preset.auth, ()),
                username_hint=preset.username_hint or address, source=source, evidence=evidence,
                confidence=confidence - 0.01 * len(proposals)))
    return tuple(proposals)


def detect_by_catalogue(address: str, domain: str) -> SourceOutcome:
    provider = providers.by_domain(domain)
    if provider is None:
        return SourceOutcome(detail=f"{domain} is not a mailbox domain in the bundled catalogue")
    evidence = f"{domain} is a {provider.name} domain (bundled catalogue)"
    return SourceOutcome(proposals_for(provider, address, source=Source.CATALOGUE, evidence=evidence,
                                       confidence=0.95), detail=evidence)


def proposals_for_mx(mx_hosts: Sequence[str], address: str, domain: str) -> SourceOutcome:
    """`mx_hosts` most preferred first; the first host the catalogue recognises names the provider."""
    for host in mx_hosts:
        provider = providers.by_mx([host])
        if provider is not None:
            evidence = f"MX record {host} matches {provider.name}"
            return SourceOutcome(proposals_for(provider, address, source=Source.MX, evidence=evidence,
                                               confidence=0.9), detail=evidence)
    listed = ", ".join(mx_hosts)
    return SourceOutcome(detail=f"MX records of {domain} ({listed}) match no provider in the catalogue")


def provider_for_smtp_host(host: str) -> tuple[ProviderKind, str] | None:
    """The catalogue provider whose preset uses this SMTP host (an autoconfig document may name one)."""
    host = host.lower().rstrip(".")
    for provider in providers.all_providers():
        if any(preset.host.lower() == host for preset in provider.smtp):
            kinds = [ProviderKind(k) for k in provider.profile_providers if k != ProviderKind.GRAPH.value]
            return (kinds[0] if kinds else ProviderKind.SMTP), provider.id
    return None
