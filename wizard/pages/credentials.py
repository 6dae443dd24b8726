"""The wizard's credentials: app-only secrets put where the sign-in and the check read them (the keyring),
and the credential a test mail signs in with.

msal's caller (services/oauth) loads the client secret or certificate passphrase from the keyring under the
profile's name, which is also where Save keeps them; nothing else ever holds them. So the check stages a typed
secret in the keyring before Save. `StagedSecrets` remembers what each staged entry held before; when the
wizard closes, every entry not committed by a Save is put back (removed if it was new), so a cancelled wizard
leaves no secret behind and never replaces a saved profile's secret.
"""

from __future__ import annotations

import sys
import weakref

from PySide6.QtWidgets import QWizard, QWizardPage

from wizard.pages.state import WizardState
from wizard.services import diagnostics, secrets
from wizard.services.diagnostics import Diagnosis
from wizard.services.model import AuthMode
from wizard.services.secrets import SecretKind
from wizard.services.transports.base import Credential, PasswordCredential, TokenCredential

_WATCHED_PROPERTY = "mailwrightRestoresStagedSecrets"


class StagedSecrets:
    """Keyring entries the wizard wrote before Save, with the value each held before (None: no entry)."""

    def __init__(self) -> None:
        self._previous: dict[tuple[str, SecretKind], str | None] = {}
        self._unsaved_oauth: set[str] = set()  # new profiles with an imported client or tokens, never saved

    def remember_unsaved_oauth(self, name: str) -> None:
        self._unsaved_oauth.add(name)

    def remember(self, name: str, kind: SecretKind, previous: str | None) -> None:
        self._previous.setdefault((name, kind), previous)  # the first value is the one to go back to

    def commit(self, name: str) -> None:
        """Saved under `name`: what the keyring holds for it now is the profile's."""
        self._previous = {key: value for key, value in self._previous.items() if key[0] != name}
        self._unsaved_oauth.discard(name)

    def pending(self) -> list[tuple[str, SecretKind]]:
        return list(self._previous)

    def restore(self) -> None:
        """Blocking (keyring over D-Bus): put back every uncommitted entry. Runs once, as the wizard closes."""
        entries, self._previous = self._previous, {}
        unsaved, self._unsaved_oauth = self._unsaved_oauth, set()
        for name in unsaved:
            _forget_unsaved_profile(name)
        for (name, kind), previous in entries.items():
            if previous is None:
                secrets.delete_secret(name, kind)
            else:
                secrets.store_secret(name, kind, previous)
        if entries and "wizard.services.oauth" in sys.modules:
            sys.modules["wizard.services.oauth"].forget_sessions()  # msal apps still hold the staged secret


def _forget_unsaved_profile(name: str) -> None:
    """A profile that was never saved: its imported client file, client secret and tokens go too."""
    from wizard.services import oauth

    oauth.forget_profile(name)
    secrets.delete_profile_secrets(name)


_LEDGERS: dict[int, StagedSecrets] = {}


def staged_secrets(state: WizardState) -> StagedSecrets:
    """The ledger of this wizard state (WizardState is an unhashable dataclass: keyed by identity)."""
    key = id(state)
    ledger = _LEDGERS.get(key)
    if ledger is None:
        ledger = _LEDGERS[key] = StagedSecrets()
        weakref.finalize(state, _LEDGERS.pop, key, None)
    return ledger


def restore_staged_secrets(state: WizardState) -> None:
    try:
        staged_secrets(state).restore()
    except secrets.KeyringUnavailableError:
        pass  # the keyring went away: nothing can be written or removed now, and nothing is lost by trying later


def _restore_when_closed(page: QWizardPage | None, state: WizardState) -> None:
    wizard: QWizard | None = page.wizard() if page is not None else None
    if wizard is None or wizard.property(_WATCHED_PROPERTY):
        return
    wizard.setProperty(_WATCHED_PROPERTY, True)
    # finished: Finish, Cancel, Escape and closing the window all end in QDialog.done()
    wizard.finished.connect(lambda _result: restore_staged_secrets(state))


def forget_unless_saved(page: QWizardPage, state: WizardState, name: str) -> None:
    """OAuth state now exists for `name`; for a new profile it is removed again unless the wizard saves it."""
    if name in state.saved_profiles or name == state.editing:
        return
    _restore_when_closed(page, state)
    staged_secrets(state).remember_unsaved_oauth(name)


async def stage_secrets(state: WizardState, page: QWizardPage | None = None) -> None:
    """Put a typed client secret / passphrase in the keyring under the profile name for msal's caller; `page`
    ties the staging to its wizard, which puts the keyring back as it was unless the profile is saved."""
    name = state.profile().name
    staged = {AuthMode.CLIENT_SECRET: (SecretKind.CLIENT_SECRET, state.secrets.client_secret.strip()),
              AuthMode.CLIENT_CERTIFICATE: (SecretKind.CERTIFICATE_PASSPHRASE, state.secrets.certificate_passphrase)}
    if state.draft.auth not in staged:
        return
    kind, value = staged[state.draft.auth]
    if not value:
        return
    previous = await secrets.load_secret_async(name, kind)
    if previous != value:
        _restore_when_closed(page, state)
        staged_secrets(state).remember(name, kind, previous)
        await secrets.store_secret_async(name, kind, value)
        from wizard.services import oauth

        oauth.forget_sessions()  # a cached msal application still holds the previous secret


async def password_credential(state: WizardState) -> Credential | Diagnosis:
    """The typed password, or the saved one from the keyring when editing and the field was left empty."""
    if not state.needs_saved_password():
        return _typed_credential(state)
    try:
        password = await secrets.load_secret_async(state.editing, SecretKind.PASSWORD)
    except secrets.KeyringUnavailableError as exc:
        return diagnostics.make("keyring_unavailable", reason=str(exc))
    if password is None:
        return diagnostics.make("secret_missing")
    return PasswordCredential(state.draft.username.strip(), password)


def _typed_credential(state: WizardState) -> Credential:
    """The password credential typed on the account page (None: no sign-in)."""
    if state.draft.auth is not AuthMode.PASSWORD or not state.draft.username.strip():
        return None
    return PasswordCredential(state.draft.username.strip(), state.secrets.password)


def credential_for_state(state: WizardState) -> Credential:
    """What the test-mail dialog signs in with: the typed password, or the profile's OAuth tokens (fetched when
    the dialog sends, from the sign-in or the staged secret; msal loads only then)."""
    if state.draft.auth is AuthMode.PASSWORD:
        return _typed_credential(state)
    profile = state.profile()

    async def token_source(force_refresh: bool) -> str:
        from wizard.services import oauth

        credential = await oauth.credential_for(profile)
        return await credential.token_source(force_refresh)

    return TokenCredential(profile.login_name, token_source)
