"""Profiles together with their secrets: save, remove, and the credential a transport needs.

The profile's settings go to config.toml (ConfigStore); its secret goes to the keyring
(secrets.py). Saving refuses when no secure keyring exists, before anything is written. Credentials come from
a secret source (secret_source.py): the keyring for saved profiles, the wizard's draft for unsaved settings.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import TYPE_CHECKING

from wizard.services import secrets
from wizard.services.config import ConfigStore
from wizard.services.errors import DescribedError, DiagnosisCode
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.secret_source import KEYRING, DraftSecrets, SecretSource
from wizard.services.secrets import KeyringUnavailableError, SecretKind
from wizard.services.transports.base import Credential, PasswordCredential, Scope, Transport, TransportError
from wizard.services.transports.smtp import SmtpTransport

if TYPE_CHECKING:
    from wizard.services.oauth import TokenService
    from wizard.services.transports.graph import GraphLimits


class MissingSecretError(DescribedError, LookupError):
    def __init__(self, profile: str, kind: SecretKind) -> None:
        super().__init__(DiagnosisCode.SECRET_MISSING, detail=f"The keyring holds no {kind.value} for profile "
                                                            f"'{profile}'.")


def save_profile(profile: Profile, password: str | None = None, store: ConfigStore | None = None) -> Profile:
    """Validate, store the password in the keyring (if given), then write the settings."""
    profile = profile.validated()
    if password is not None:
        if "\n" in password or "\r" in password:
            raise ValueError("A password cannot contain line breaks.")
        secrets.store_secret(profile.name, SecretKind.PASSWORD, password)
    (store or ConfigStore()).save_profile(profile)
    return profile


def secret_kinds(profile: Profile) -> tuple[SecretKind, ...]:
    """The secrets the profile signs in with (a delegated OAuth sign-in keeps a token cache instead; Gmail's
    client secret comes with its imported client)."""
    if profile.auth is AuthMode.PASSWORD:
        return (SecretKind.PASSWORD,) if profile.username else ()
    return {AuthMode.CLIENT_SECRET: (SecretKind.CLIENT_SECRET,),
            AuthMode.CLIENT_CERTIFICATE: (SecretKind.CERTIFICATE_PASSPHRASE,)}.get(profile.auth, ())


def save_draft(profile: Profile, draft: DraftSecrets, store: ConfigStore | None = None) -> Profile:
    """The wizard's Save (blocking: keyring and files). Validate, then put what the draft holds (typed secrets,
    a sign-in's tokens, an imported client) in the keyring, then write the settings."""
    profile = profile.validated()
    if "\n" in draft.password or "\r" in draft.password:
        raise ValueError("A password cannot contain line breaks.")
    draft.save(profile.name, secret_kinds(profile))
    (store or ConfigStore()).save_profile(profile)
    return profile


def remove_profile(name: str, store: ConfigStore | None = None) -> list[SecretKind]:
    """Remove the settings and every secret of the profile; returns the secret kinds that were deleted."""
    (store or ConfigStore()).remove_profile(name)
    try:
        removed = secrets.delete_profile_secrets(name)
    except secrets.KeyringUnavailableError:
        removed = []
    from wizard.services import oauth

    oauth.forget_profile(name)  # the encrypted token cache and an imported Google client file
    from wizard.services.m365 import keypair, record

    keypair.forget(name)  # a Microsoft 365 one-sign-in set-up: the encrypted key files and their passphrase
    record.delete(name)  # and what it created in the tenant
    return removed


def needs_password(profile: Profile) -> bool:
    return profile.auth is AuthMode.PASSWORD and bool(profile.username)


async def credential_for(profile: Profile, secrets: SecretSource = KEYRING,
                         tokens: TokenService | None = None) -> Credential:
    """The credential the profile's transport signs in with (None: no sign-in configured). A secret source
    blocks (keyring, files): it is asked in a worker thread."""
    if profile.auth is AuthMode.PASSWORD:
        if not profile.username:
            return None
        password = await asyncio.to_thread(secrets.secret, profile.name, SecretKind.PASSWORD)
        if password is None:
            raise MissingSecretError(profile.name, SecretKind.PASSWORD)
        return PasswordCredential(profile.username, password)
    # msal and friends load only when an OAuth account signs in, and off the event loop (~300 ms)
    oauth = await asyncio.to_thread(importlib.import_module, "wizard.services.oauth")
    result: Credential = await oauth.credential_for(profile, secrets, tokens)
    return result


async def transport_for(profile: Profile, secrets: SecretSource = KEYRING, *, tokens: TokenService | None = None,
                        graph_limits: GraphLimits | None = None) -> Transport:
    """A ready-to-open transport for the profile; raises TransportError(kind=AUTH) if the secret is missing.
    `tokens` and `graph_limits` are the running Mailwright's (app_services.Services.transport_for passes them)."""
    try:
        credential = await credential_for(profile, secrets, tokens)
    except MissingSecretError as exc:
        raise TransportError(exc.code, Scope.ACCOUNT, detail=exc.detail) from exc
    except KeyringUnavailableError as exc:
        raise TransportError(DiagnosisCode.KEYRING_UNAVAILABLE, Scope.ACCOUNT, facts={"reason": str(exc)}) from exc
    if profile.provider is ProviderKind.GRAPH:
        from wizard.services.transports import graph

        transport: Transport = graph.GraphTransport.for_profile(profile, credential, graph_limits)
        return transport
    return SmtpTransport.for_profile(profile, credential)


def duplicate_profile(source: str, new_name: str, store: ConfigStore | None = None) -> Profile:
    """Copy a profile's settings under a new name, and its secrets in the keyring (a token cache included)."""
    from dataclasses import replace

    from wizard.services.oauth import token_store

    store = store or ConfigStore()
    config = store.load()
    if new_name in config.profiles:
        raise ValueError(f"There is already a profile named '{new_name}'.")
    copy = replace(config.profile(source), name=new_name).validated()
    for kind in (SecretKind.PASSWORD, SecretKind.CLIENT_SECRET, SecretKind.CERTIFICATE_PASSPHRASE):
        value = secrets.load_secret(source, kind)
        if value is not None:
            secrets.store_secret(new_name, kind, value)
    cache = token_store.load_blob(source)
    if cache is not None:
        token_store.save_blob(new_name, cache)  # re-encrypted under the copy's own key
    store.save_profile(copy)
    return copy
