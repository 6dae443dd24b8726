"""The bundled provider catalogue (`wizard/resources/providers.toml`): presets and DNS facts per provider.

One frozen `Provider` per entry. The wizard uses the SMTP presets; DNS health uses the SPF includes,
DKIM selectors and CNAME targets and the alignment facts; autodetection uses domains and MX patterns.
"""

from __future__ import annotations

import fnmatch
import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

SECURITIES = frozenset({"starttls", "tls", "none"})
AUTH_KINDS = frozenset({"oauth2", "app-password", "password", "api-key", "smtp-credentials"})
KINDS = frozenset({"business", "consumer", "esp"})
PROFILE_PROVIDER_ALIASES = {"m365-smtp": "m365", "graph": "m365", "gmail": "google"}


class CatalogueError(ValueError):
    """The catalogue file is malformed (a packaging bug, reported with the entry and the key)."""


@dataclass(frozen=True)
class SmtpPreset:
    host: str
    port: int
    security: str
    auth: str
    username_hint: str = ""
    help: str = ""
    doc_url: str = ""


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    kind: str
    smtp: tuple[SmtpPreset, ...]
    profile_providers: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    mx: tuple[str, ...] = ()
    # Any of these authorises the provider; the first is the one to add to a record.
    spf_includes: tuple[str, ...] = ()
    dkim_selectors: tuple[str, ...] = ()
    dkim_selectors_guessable: bool = True
    dkim_cname_targets: tuple[str, ...] = ()
    dkim_custom_domain: bool = True
    return_path_aligned: bool = True
    dkim_setup: str = ""
    dmarc_notes: str = ""
    doc_url: str = ""

    @property
    def spf_include(self) -> str | None:
        return self.spf_includes[0] if self.spf_includes else None

    def dkim_target_patterns(self, domain: str) -> tuple[str, ...]:
        """The CNAME target globs for `domain` (placeholders filled in, lower case)."""
        domain = domain.lower().rstrip(".")
        return tuple(p.format(domain=domain, domain_dashed=domain.replace(".", "-")).lower()
                     for p in self.dkim_cname_targets)

    def matches_dkim_target(self, domain: str, target: str) -> bool:
        target = target.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(target, pattern) for pattern in self.dkim_target_patterns(domain))

    def matches_mx(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in self.mx)

    def matches_domain(self, domain: str) -> bool:
        domain = domain.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(domain, pattern.lower()) for pattern in self.domains)


def _strings(entry_id: str, data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogueError(f"providers.toml [{entry_id}] {key} must be a list of strings")
    return tuple(value)


def _text(entry_id: str, data: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise CatalogueError(f"providers.toml [{entry_id}] {key} must be a{' non-empty' if required else ''} string")
    return value


def _flag(entry_id: str, data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise CatalogueError(f"providers.toml [{entry_id}] {key} must be true or false")
    return value


def _preset(entry_id: str, data: dict[str, Any]) -> SmtpPreset:
    port = data.get("port")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise CatalogueError(f"providers.toml [{entry_id}.smtp] port must be 1-65535")
    security = _text(entry_id, data, "security", required=True)
    auth = _text(entry_id, data, "auth", required=True)
    if security not in SECURITIES:
        raise CatalogueError(f"providers.toml [{entry_id}.smtp] security {security!r} not in {sorted(SECURITIES)}")
    if auth not in AUTH_KINDS:
        raise CatalogueError(f"providers.toml [{entry_id}.smtp] auth {auth!r} is not one of {sorted(AUTH_KINDS)}")
    return SmtpPreset(host=_text(entry_id, data, "host"), port=port, security=security, auth=auth,
                      username_hint=_text(entry_id, data, "username_hint"), help=_text(entry_id, data, "help"),
                      doc_url=_text(entry_id, data, "doc_url"))


def parse_catalogue(document: dict[str, Any]) -> dict[str, Provider]:
    """Build the catalogue from a parsed TOML document (pure: the loader test feeds it broken data)."""
    catalogue: dict[str, Provider] = {}
    for entry_id, data in document.items():
        if not isinstance(data, dict):
            raise CatalogueError(f"providers.toml: {entry_id} must be a table")
        kind = _text(entry_id, data, "kind", required=True)
        if kind not in KINDS:
            raise CatalogueError(f"providers.toml [{entry_id}] kind {kind!r} is not one of {sorted(KINDS)}")
        smtp = data.get("smtp", [])
        if not isinstance(smtp, list) or not smtp:
            raise CatalogueError(f"providers.toml [{entry_id}] needs at least one [[{entry_id}.smtp]] preset")
        catalogue[entry_id] = Provider(
            id=entry_id,
            name=_text(entry_id, data, "name", required=True),
            kind=kind,
            smtp=tuple(_preset(entry_id, preset) for preset in smtp),
            profile_providers=_strings(entry_id, data, "profile_providers"),
            domains=_strings(entry_id, data, "domains"),
            mx=_strings(entry_id, data, "mx"),
            spf_includes=_strings(entry_id, data, "spf_includes"),
            dkim_selectors=_strings(entry_id, data, "dkim_selectors"),
            dkim_selectors_guessable=_flag(entry_id, data, "dkim_selectors_guessable", True),
            dkim_cname_targets=_strings(entry_id, data, "dkim_cname_targets"),
            dkim_custom_domain=_flag(entry_id, data, "dkim_custom_domain", True),
            return_path_aligned=_flag(entry_id, data, "return_path_aligned", True),
            dkim_setup=_text(entry_id, data, "dkim_setup"),
            dmarc_notes=_text(entry_id, data, "dmarc_notes"),
            doc_url=_text(entry_id, data, "doc_url"),
        )
    return catalogue


@functools.cache
def load_catalogue() -> dict[str, Provider]:
    """The bundled catalogue, parsed once per process. Treat the returned dict as read-only."""
    text = resources.files("wizard").joinpath("resources/providers.toml").read_text(encoding="utf-8")
    return parse_catalogue(tomllib.loads(text))


def all_providers() -> tuple[Provider, ...]:
    return tuple(load_catalogue().values())


def get(provider_id: str) -> Provider:
    """The provider with this catalogue id; `KeyError` with a readable message otherwise."""
    try:
        return load_catalogue()[provider_id]
    except KeyError:
        known = ", ".join(sorted(load_catalogue()))
        raise KeyError(f"Unknown provider '{provider_id}' (known: {known}).") from None


def for_profile_provider(kind: str, preset: str = "") -> Provider | None:
    """The catalogue entry for a profile's provider kind (m365-smtp/graph -> m365, gmail -> google).

    A generic `smtp` profile maps to its preset when it has one, else to None (any SMTP server).
    """
    if kind in PROFILE_PROVIDER_ALIASES:
        return get(PROFILE_PROVIDER_ALIASES[kind])
    if kind == "smtp":
        return load_catalogue().get(preset) if preset else None
    raise KeyError(f"Unknown profile provider '{kind}'.")


def by_domain(domain: str) -> Provider | None:
    """The provider owning a mailbox domain (gmail.com -> google), for consumer and hosted addresses."""
    domain = domain.strip().lower().rstrip(".")
    if "@" in domain:
        domain = domain.rpartition("@")[2]
    return next((p for p in all_providers() if p.matches_domain(domain)), None)


def by_mx(mx_hosts: Iterable[str]) -> Provider | None:
    """The provider whose MX patterns match the first (most preferred) matching host, if any."""
    for host in mx_hosts:
        found = next((p for p in all_providers() if p.matches_mx(host)), None)
        if found is not None:
            return found
    return None


def resolve_provider_name(name: str) -> Provider | None:
    """A catalogue id or a profile provider kind; None for the generic `smtp`. `KeyError` if neither."""
    key = name.strip().lower()
    if key in load_catalogue():
        return load_catalogue()[key]
    return for_profile_provider(key)
