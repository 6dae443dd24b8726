"""Microsoft 365 set up by one administrator sign-in: the Entra app, its certificate, the consent, the check.

    from wizard.services import m365

    result = await m365.set_up(m365.SetupRequest(profile, sender, m365.SetupMode.GRAPH_APP, endpoints),
                               m365.Progress(on_step=print_step, on_wait=show_countdown))
    m365.registration(profile)          -> Registration | None (what was created: ids, grants, certificate)
    await m365.rotate(profile)          -> Registration (new certificate via addKey/removeKey, no admin)
    await m365.rotate_due()             -> rotations done for every profile within 30 days of expiry
    await m365.tear_down(profile, ...)  -> TeardownResult (admin sign-in, DELETE the app, forget the key)

Modules: modes (what each mode asks and grants), endpoints (clouds), admin_sign_in (msal public client),
directory (Graph calls), keypair (RSA key + self-signed certificate, encrypted at rest), record (what exists),
replication + probe (waiting for Entra), exchange (PowerShell), setup, rotation, teardown, diagnosis (words).
"""

from __future__ import annotations

from wizard.services.m365.diagnosis import M365Error
from wizard.services.m365.endpoints import DEFAULT_ADMIN_CLIENT_ID, Endpoints
from wizard.services.m365.modes import SetupMode
from wizard.services.m365.record import Registration
from wizard.services.m365.record import load as registration
from wizard.services.m365.replication import WaitPolicy, WaitTick
from wizard.services.m365.setup import STEPS, Progress, SetupRequest, SetupResult, finish, set_up, validate_request

__all__ = ["DEFAULT_ADMIN_CLIENT_ID", "STEPS", "Endpoints", "M365Error", "Progress", "Registration", "SetupMode",
           "SetupRequest", "SetupResult", "WaitPolicy", "WaitTick", "finish", "registration", "set_up",
           "validate_request"]
