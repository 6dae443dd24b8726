"""What the wizard's pages share: one typed, mutable state object, never each other's widgets.

The account being set up is a `Profile` draft, replaced as a whole (`state.draft = replace(state.draft, host=…)`)
so a field added to `Profile` needs no second declaration here; the secrets typed so far live beside it, in
memory, until Save (`services.secret_source.DraftSecrets`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from wizard.services.model import AuthMode, Profile
from wizard.services.secret_source import DraftSecrets
from wizard.services.settings import DeliverySettings

if TYPE_CHECKING:  # heavy (aiosmtplib, dnspython, httpx): imported only when a page runs them
    from wizard.services.autodetect import Detection
    from wizard.services.check import CheckReport

DEFAULT_PROFILE_NAME = "default"


def _new_draft() -> Profile:
    return Profile(name=DEFAULT_PROFILE_NAME)


@dataclass
class WizardState:
    """The account being set up. Pages write what the user entered; the check and save pages read it."""

    draft: Profile = field(default_factory=_new_draft)
    secrets: DraftSecrets = field(default_factory=DraftSecrets)
    # The saved profile being edited ("" for a new account); its secrets stay in the keyring.
    editing: str = ""
    # The [delivery] table: shared by every profile, saved with the profile.
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    # What autodetection proposed for the sender address (the provider page preselects it).
    detection: Detection | None = None
    # Microsoft: does the admin already have an app registration (else the guide page comes first)?
    has_app_registration: bool = True
    # Microsoft: "Set it up for me" (services/m365): the set-up mode ("" = the manual guide / an existing app) and
    # the organisation's own admin sign-in client ("" = Microsoft Graph Command Line Tools).
    m365_setup_mode: str = ""
    m365_admin_client_id: str = ""
    enterprise_object_id: str = ""
    # Graph: the profile may send mail over 4 MB (needs Mail.ReadWrite for the upload session).
    large_messages: bool = False
    saved_profiles: dict[str, Profile] = field(default_factory=dict)
    report: CheckReport | None = None
    # What the report was produced for: a changed setting or secret means the check is stale.
    _checked: tuple[Profile, tuple[str, ...]] | None = field(default=None, repr=False)
    saved: Profile | None = None

    def __repr__(self) -> str:  # never show a secret in a traceback or log
        return f"WizardState(profile={self.draft.name!r}, host={self.draft.host!r}, port={self.draft.port})"

    def profile(self) -> Profile:
        """The draft as it would be saved: entered text trimmed, a blank name the default one."""
        trimmed: dict[str, Any] = {f.name: value.strip() for f in fields(Profile)
                   # `type(...) is str`: the enums (Security, AuthMode ...) are str subclasses and stay enums.
                   if type(value := getattr(self.draft, f.name)) is str}
        trimmed["name"] = trimmed["name"] or DEFAULT_PROFILE_NAME
        return replace(self.draft, **trimmed)

    def secret_source(self) -> DraftSecrets:
        """Where checks, sign-ins and sends get this account's secrets (a new object after `load_profile`)."""
        return self.secrets

    def secret_values(self) -> list[str]:
        """Strings an error report must never show."""
        return self.secrets.values()

    def needs_saved_password(self) -> bool:
        """Editing a saved profile with the password field left empty: use the one in the keyring."""
        return bool(self.draft.auth is AuthMode.PASSWORD and self.editing and self.draft.username.strip()
                    and not self.secrets.password)

    def record_check(self, report: CheckReport) -> None:
        self.report = report
        self._checked = (replace(self.profile(), name=""), self.secrets.fingerprint())
        self.saved = None  # what is saved must be what was last checked

    def check_passed(self) -> bool:
        """A passed check for exactly the current settings."""
        current = (replace(self.profile(), name=""), self.secrets.fingerprint())
        return self.report is not None and self.report.ok and self._checked == current

    def load_profile(self, profile: Profile) -> None:
        """Prefill from a saved profile; its secrets stay in the keyring, read only when a check needs them."""
        self.draft = profile
        self.editing = profile.name
        self.secrets = DraftSecrets(saved_name=profile.name)
        self.report = None
        self._checked = None
        self.saved = None

    def start_new(self) -> None:
        saved = self.saved_profiles
        fresh = WizardState(saved_profiles=saved, draft=Profile(name=unused_profile_name(saved)))
        for item in fields(self):
            setattr(self, item.name, getattr(fresh, item.name))


def unused_profile_name(saved: dict[str, Profile]) -> str:
    if DEFAULT_PROFILE_NAME not in saved:
        return DEFAULT_PROFILE_NAME
    number = 2
    while f"account-{number}" in saved:
        number += 1
    return f"account-{number}"
