"""The wizard's credentials: app-only secrets put where the sign-in and the check read them (the keyring),
and the credential a test mail signs in with.

msal's caller (services/oauth) loads the client secret or certificate passphrase from the keyring under the
profile's name, which is also where Save keeps them; nothing else ever holds them.
"""

from __future__ import annotations

from wizard.pages.state import WizardState
from wizard.services import secrets
from wizard.services.config import AuthMode
from wizard.services.secrets import SecretKind
from wizard.services.transports.base import Credential, TokenCredential


async def stage_secrets(state: WizardState) -> None:
    name = state.profile().name
    staged = {AuthMode.CLIENT_SECRET: (SecretKind.CLIENT_SECRET, state.client_secret.strip()),
              AuthMode.CLIENT_CERTIFICATE: (SecretKind.CERTIFICATE_PASSPHRASE, state.certificate_passphrase)}
    kind, value = staged.get(state.auth, (None, ""))
    if kind is None or not value:
        return
    if await secrets.load_secret_async(name, kind) != value:
        await secrets.store_secret_async(name, kind, value)
        from wizard.services import oauth

        oauth.forget_sessions()  # a cached msal application still holds the previous secret


def credential_for_state(state: WizardState) -> Credential:
    """What the test-mail dialog signs in with: the typed password, or the profile's OAuth tokens (fetched when
    the dialog sends, from the sign-in or the staged secret; msal loads only then)."""
    if state.auth is AuthMode.PASSWORD:
        return state.credential()
    profile = state.profile()

    async def token_source(force_refresh: bool) -> str:
        from wizard.services import oauth

        credential = await oauth.credential_for(profile)
        return await credential.token_source(force_refresh)

    return TokenCredential(profile.login_name, token_source)
