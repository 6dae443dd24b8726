"""Where checks, sign-ins and sends get a profile's secrets: a secret source, passed in.

`KEYRING` answers from the keyring (and the encrypted token caches and imported Google clients beside it):
what saved profiles use. `DraftSecrets` answers from memory what the wizard's user typed and what a sign-in
obtained, falling back to the saved profile being edited for anything not typed again; nothing it is told is
written anywhere until `save_draft`. So a check or a test mail of unsaved settings never stages a secret in the
keyring, and a cancelled wizard has nothing to put back.

Every method blocks (a keyring is a D-Bus or Credential Manager call, a token cache a file): callers run them in
a worker thread (`asyncio.to_thread`), as msal's token calls already are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from wizard.services import secrets
from wizard.services.secrets import SecretKind


class SecretSource(Protocol):
    """Answers the secrets of a profile, and keeps what a sign-in obtains for it."""

    def secret(self, profile: str, kind: SecretKind) -> str | None:
        """The profile's password / client secret / passphrase (None: there is none)."""
        ...

    def keep_secret(self, profile: str, kind: SecretKind, value: str) -> None:
        """Save `value` as the profile's secret of this kind."""
        ...

    def token_cache(self, profile: str) -> bytes | None:
        """The profile's serialised OAuth token cache (None: never signed in)."""
        ...

    def keep_token_cache(self, profile: str, blob: bytes) -> None:
        """A sign-in or refresh changed the token cache."""
        ...

    def forget_token_cache(self, profile: str) -> bool:
        """Signed out: True when there was a cache."""
        ...

    def oauth_client(self, profile: str) -> str | None:
        """The imported Google OAuth client (its JSON without the secret), None when none was imported."""
        ...

    def keep_oauth_client(self, profile: str, client_json: str, secret: str) -> None:
        """An imported Google OAuth client: the document (not secret) and its client secret."""
        ...


class KeyringSecrets:
    """The saved profiles' secrets: the keyring, the encrypted token caches, the imported client files."""

    def secret(self, profile: str, kind: SecretKind) -> str | None:
        return secrets.load_secret(profile, kind)

    def keep_secret(self, profile: str, kind: SecretKind, value: str) -> None:
        secrets.store_secret(profile, kind, value)

    def token_cache(self, profile: str) -> bytes | None:
        from wizard.services.oauth import token_store

        return token_store.load_blob(profile)

    def keep_token_cache(self, profile: str, blob: bytes) -> None:
        from wizard.services.oauth import token_store

        token_store.save_blob(profile, blob)

    def forget_token_cache(self, profile: str) -> bool:
        from wizard.services.oauth import token_store

        return token_store.delete(profile)

    def oauth_client(self, profile: str) -> str | None:
        from wizard.services.oauth import google_client

        return google_client.load(profile)

    def keep_oauth_client(self, profile: str, client_json: str, secret: str) -> None:
        from wizard.services.oauth import google_client

        if secret:
            secrets.store_secret(profile, SecretKind.CLIENT_SECRET, secret)
        google_client.save(profile, client_json)


KEYRING = KeyringSecrets()


@dataclass(eq=False)
class DraftSecrets:
    """The wizard's unsaved secrets, in memory; what was not typed again comes from the saved profile
    `saved_name` (read only). The profile name a caller asks for is the draft's, whatever it is called now."""

    password: str = ""
    client_secret: str = ""
    certificate_passphrase: str = ""
    saved_name: str = ""  # the saved profile being edited ("" for a new one)
    saved: SecretSource = field(default=KEYRING, repr=False)
    _token_cache: bytes | None = field(default=None, repr=False)
    _signed_out: bool = field(default=False, repr=False)  # the saved sign-in no longer counts
    _client: tuple[str, str] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"DraftSecrets(saved_name={self.saved_name!r})"

    def typed(self, kind: SecretKind) -> str:
        """What the user typed for `kind` ("" when nothing); a client secret is trimmed, a passphrase is not."""
        if kind is SecretKind.PASSWORD:
            return self.password
        if kind is SecretKind.CLIENT_SECRET:
            return self.client_secret.strip() or (self._client[1] if self._client else "")
        if kind is SecretKind.CERTIFICATE_PASSPHRASE:
            return self.certificate_passphrase
        return ""

    def fingerprint(self) -> tuple[str, ...]:
        """What a check result depends on: the typed secrets (a passed check is stale once one changes)."""
        return (self.password, self.client_secret, self.certificate_passphrase)

    def values(self) -> list[str]:
        """Strings an error report must never show."""
        return [value for value in (*self.fingerprint(), self._client[1] if self._client else "") if value]

    # -- SecretSource -----------------------------------------------------------------------------
    def secret(self, profile: str, kind: SecretKind) -> str | None:
        typed = self.typed(kind)
        if typed:
            return typed
        return self.saved.secret(self.saved_name, kind) if self.saved_name else None

    def keep_secret(self, profile: str, kind: SecretKind, value: str) -> None:
        if kind is SecretKind.PASSWORD:
            self.password = value
        elif kind is SecretKind.CLIENT_SECRET:
            self.client_secret = value
        elif kind is SecretKind.CERTIFICATE_PASSPHRASE:
            self.certificate_passphrase = value

    def token_cache(self, profile: str) -> bytes | None:
        if self._token_cache is not None or self._signed_out or not self.saved_name:
            return self._token_cache
        return self.saved.token_cache(self.saved_name)

    def keep_token_cache(self, profile: str, blob: bytes) -> None:
        self._token_cache = blob

    def forget_token_cache(self, profile: str) -> bool:
        had = self.token_cache(profile) is not None
        self._token_cache, self._signed_out = None, True
        return had

    def oauth_client(self, profile: str) -> str | None:
        if self._client is not None:
            return self._client[0]
        return self.saved.oauth_client(self.saved_name) if self.saved_name else None

    def keep_oauth_client(self, profile: str, client_json: str, secret: str) -> None:
        self._client = (client_json, secret)

    # -- Save -------------------------------------------------------------------------------------
    def save(self, name: str, kinds: tuple[SecretKind, ...]) -> None:
        """Blocking: write under `name`, to the source the draft falls back to (the keyring), the secret `kinds`
        the profile uses, its sign-in and its imported client. A saved secret not typed again is left as it is
        (copied when the profile was renamed)."""
        renamed = bool(self.saved_name) and self.saved_name != name
        for kind in kinds:
            value = self.typed(kind) or (self.secret(name, kind) if renamed else None)
            if value:
                self.saved.keep_secret(name, kind, value)
        if self._client is not None or renamed:
            client = self._client or (self.oauth_client(name), self.secret(name, SecretKind.CLIENT_SECRET))
            if client[0] is not None:
                self.saved.keep_oauth_client(name, client[0], client[1] or "")
        if self._token_cache is not None or renamed:
            cache = self.token_cache(name)
            if cache is not None:
                self.saved.keep_token_cache(name, cache)
        elif self._signed_out:
            self.saved.forget_token_cache(name)
        self.saved_name = name
        self._token_cache, self._signed_out, self._client = None, False, None
