"""What the wizard's pages share: one typed, mutable state object, never each other's widgets."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

from wizard.services.config import DeliverySettings
from wizard.services.model import DEFAULT_PORTS, AuthMode, Profile, ProviderKind, Security

if TYPE_CHECKING:  # heavy (aiosmtplib, dnspython, httpx): imported only when a page runs them
    from wizard.services.autodetect import Detection
    from wizard.services.check import CheckReport
    from wizard.services.transports.base import Credential

DEFAULT_PROFILE_NAME = "default"


@dataclass
class WizardState:
    """The account being set up. Pages write what the user entered; the check and save pages read it."""

    profile_name: str = DEFAULT_PROFILE_NAME
    # The saved profile being edited ("" for a new account); its password may stay in the keyring.
    editing: str = ""
    preset: str = ""
    from_address: str = ""
    display_name: str = ""
    host: str = ""
    port: int = DEFAULT_PORTS[Security.STARTTLS]
    security: Security = Security.STARTTLS
    username: str = ""
    password: str = ""
    ca_file: str = ""
    allow_plaintext_loopback: bool = False
    # Provider and sign-in (Microsoft 365, Gmail, Graph)
    provider: ProviderKind = ProviderKind.SMTP
    auth: AuthMode = AuthMode.PASSWORD
    tenant: str = ""
    client_id: str = ""
    authority: str = ""
    graph_endpoint: str = ""
    certificate_path: str = ""
    certificate_thumbprint: str = ""
    client_secret_expires: str = ""
    save_to_sent_items: bool = True
    client_secret: str = ""
    certificate_passphrase: str = ""
    # Sender settings and policy
    priority: int = 3
    authorized_domains: tuple[str, ...] = ()
    authorized_senders: tuple[str, ...] = ()
    unauthorized_action: str = "block"
    postmaster: str = ""
    force_postmaster_sender: bool = False
    # The [delivery] table: shared by every profile, saved with the profile.
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    # What autodetection proposed for the sender address (the provider page preselects it).
    detection: Detection | None = None
    # Microsoft: does the admin already have an app registration (else the guide page comes first)?
    has_app_registration: bool = True
    enterprise_object_id: str = ""
    # Graph: the profile may send mail over 4 MB (needs Mail.ReadWrite for the upload session).
    large_messages: bool = False
    saved_profiles: dict[str, Profile] = field(default_factory=dict)
    report: CheckReport | None = None
    # What the report was produced for: a changed setting or password means the check is stale.
    _checked: tuple[Profile, tuple[str, str, str]] | None = field(default=None, repr=False)
    saved: Profile | None = None
    # The saved profile being edited, as loaded: the base of `profile()`.
    loaded: Profile | None = None

    def __repr__(self) -> str:  # never show the password in a traceback or log
        return f"WizardState(profile_name={self.profile_name!r}, host={self.host!r}, port={self.port})"

    def profile(self) -> Profile:
        """The profile as entered; settings no page shows (fallback, timeout, sending IPs) stay as loaded."""
        entered = {name: _cleaned(getattr(self, name)) for name in SHARED_PROFILE_FIELDS}
        return replace(self.loaded or Profile(name=""), name=self.profile_name.strip() or DEFAULT_PROFILE_NAME,
                       **entered)

    def credential(self) -> Credential:
        """The password credential typed on the account page (OAuth credentials come from services.oauth)."""
        if self.auth is not AuthMode.PASSWORD or not self.username.strip():
            return None
        from wizard.services.transports.base import PasswordCredential  # off the first page's import path

        return PasswordCredential(self.username.strip(), self.password)

    def _secrets_key(self) -> tuple[str, str, str]:
        return (self.password, self.client_secret, self.certificate_passphrase)

    def needs_saved_password(self) -> bool:
        """Editing a saved profile with the password field left empty: use the one in the keyring."""
        return bool(self.auth is AuthMode.PASSWORD and self.editing and self.username.strip() and not self.password)

    def record_check(self, report: CheckReport) -> None:
        self.report = report
        self._checked = (replace(self.profile(), name=""), self._secrets_key())
        self.saved = None  # what is saved must be what was last checked

    def check_passed(self) -> bool:
        """A passed check for exactly the current settings."""
        current = (replace(self.profile(), name=""), self._secrets_key())
        return self.report is not None and self.report.ok and self._checked == current

    def load_profile(self, profile: Profile) -> None:
        """Prefill from a saved profile; its password stays in the keyring until the check needs it."""
        for name in SHARED_PROFILE_FIELDS:
            setattr(self, name, getattr(profile, name))
        self.loaded = profile
        self.profile_name = profile.name
        self.editing = profile.name
        self.password = ""
        self.client_secret = ""
        self.certificate_passphrase = ""
        self.report = None
        self._checked = None
        self.saved = None

    def start_new(self) -> None:
        saved = self.saved_profiles
        fresh = WizardState(saved_profiles=saved, profile_name=unused_profile_name(saved))
        for item in fields(self):
            setattr(self, item.name, getattr(fresh, item.name))

    def secrets(self) -> list[str]:
        """Strings an error report must never show."""
        return [secret for secret in self._secrets_key() if secret]


# The settings a page edits: every Profile field the state has a field of the same name for.
SHARED_PROFILE_FIELDS = tuple(f.name for f in fields(Profile) if f.name in {g.name for g in fields(WizardState)})


def _cleaned(value: object) -> object:
    # `type(...) is str`: the enums (Security, AuthMode ...) are str subclasses and must stay enums.
    return value.strip() if type(value) is str else value


def unused_profile_name(saved: dict[str, Profile]) -> str:
    if DEFAULT_PROFILE_NAME not in saved:
        return DEFAULT_PROFILE_NAME
    number = 2
    while f"account-{number}" in saved:
        number += 1
    return f"account-{number}"
