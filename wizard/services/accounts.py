"""Profiles together with their secrets: save, remove, and the credential a transport needs.

The profile's settings go to config.toml (ConfigStore); its secret goes to the keyring
(secrets.py). Saving refuses when no secure keyring exists, before anything is written.
"""

from __future__ import annotations

from wizard.services import diagnostics, secrets
from wizard.services.config import ConfigStore
from wizard.services.diagnostics import Diagnosis
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.secrets import SecretKind
from wizard.services.transports.base import Credential, PasswordCredential, Scope, Transport, TransportError
from wizard.services.transports.smtp import SmtpTransport


class MissingSecretError(LookupError):
    def __init__(self, profile: str, kind: SecretKind) -> None:
        super().__init__(f"The keyring holds no {kind.value} for profile '{profile}'.")
        self.diagnosis: Diagnosis = diagnostics.make("secret_missing")


def save_profile(profile: Profile, password: str | None = None, store: ConfigStore | None = None) -> Profile:
    """Validate, store the password in the keyring (if given), then write the settings."""
    profile = profile.validated()
    if password is not None:
        if "\n" in password or "\r" in password:
            raise ValueError("A password cannot contain line breaks.")
        secrets.store_secret(profile.name, SecretKind.PASSWORD, password)
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
    return removed


def needs_password(profile: Profile) -> bool:
    return profile.auth is AuthMode.PASSWORD and bool(profile.username)


async def credential_for(profile: Profile) -> Credential:
    """The credential the profile's transport signs in with (None: no sign-in configured)."""
    if profile.auth is AuthMode.PASSWORD:
        if not profile.username:
            return None
        password = await secrets.load_secret_async(profile.name, SecretKind.PASSWORD)
        if password is None:
            raise MissingSecretError(profile.name, SecretKind.PASSWORD)
        return PasswordCredential(profile.username, password)
    from wizard.services import oauth

    result: Credential = await oauth.credential_for(profile)
    return result


async def transport_for(profile: Profile) -> Transport:
    """A ready-to-open transport for the profile; raises TransportError(kind=AUTH) if the secret is missing."""
    try:
        credential = await credential_for(profile)
    except MissingSecretError as exc:
        raise TransportError(exc.diagnosis, Scope.ACCOUNT) from exc
    except secrets.KeyringUnavailableError as exc:
        raise TransportError(diagnostics.make("keyring_unavailable", reason=str(exc)), Scope.ACCOUNT) from exc
    if profile.provider is ProviderKind.GRAPH:
        from wizard.services.transports import graph

        transport: Transport = graph.GraphTransport.for_profile(profile, credential)
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
