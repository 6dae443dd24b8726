"""Exchange Online's part, which Microsoft Graph cannot do: PowerShell filled in for the new app.

- smtp-app: Exchange must know the app's service principal and which mailbox it may use
  (`New-ServicePrincipal`, `Add-MailboxPermission`); without it XOAUTH2 fails with 535 5.7.3.
- graph-app, optional: RBAC for Applications limits Mail.Send to the sender mailbox (`New-ManagementScope`,
  `New-ManagementRoleAssignment -Role "Application Mail.Send"`). Entra's own Mail.Send grant still allows every
  mailbox until it is removed, which the script's last line says.

When PowerShell 7 (`pwsh`) with the ExchangeOnlineManagement module is installed, `run` executes the script
(`Connect-ExchangeOnline` signs the Exchange administrator in interactively); otherwise it is shown to copy.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def smtp_app_script(app_id: str, service_principal_id: str, display_name: str, mailbox: str) -> str:
    return "\n".join((
        "Connect-ExchangeOnline",
        f"New-ServicePrincipal -AppId {_quote(app_id)} -ObjectId {_quote(service_principal_id)} "
        f"-DisplayName {_quote(display_name)}",
        f"Add-MailboxPermission -Identity {_quote(mailbox)} -User {_quote(service_principal_id)} "
        "-AccessRights FullAccess",
    ))


def graph_scope_script(app_id: str, service_principal_id: str, display_name: str, mailbox: str,
                       scope_name: str) -> str:
    return "\n".join((
        "Connect-ExchangeOnline",
        f"New-ServicePrincipal -AppId {_quote(app_id)} -ObjectId {_quote(service_principal_id)} "
        f"-DisplayName {_quote(display_name)}",
        f"New-ManagementScope -Name {_quote(scope_name)} -RecipientRestrictionFilter "
        f"{_quote(f'PrimarySmtpAddress -eq {_quote(mailbox)}')}",
        f"New-ManagementRoleAssignment -App {_quote(service_principal_id)} -Role 'Application Mail.Send' "
        f"-CustomResourceScope {_quote(scope_name)}",
        f"Test-ServicePrincipalAuthorization -Identity {_quote(service_principal_id)} -Resource {_quote(mailbox)}",
        "# Then remove the tenant-wide Mail.Send grant from the app (Entra admin center > Enterprise applications >",
        f"# {display_name} > Permissions), otherwise it still allows every mailbox.",
    ))


@dataclass(frozen=True)
class PowerShell:
    path: str
    has_exchange_module: bool


async def find_powershell() -> PowerShell | None:
    """PowerShell 7 on PATH, and whether ExchangeOnlineManagement is installed for it."""
    path = shutil.which("pwsh")
    if path is None:
        return None
    process = await asyncio.create_subprocess_exec(
        path, "-NoProfile", "-NonInteractive", "-Command",
        "if (Get-Module -ListAvailable -Name ExchangeOnlineManagement) { exit 0 } else { exit 3 }",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    return PowerShell(path, await process.wait() == 0)


@dataclass(frozen=True)
class ScriptRun:
    exit_code: int
    output: str


async def run(shell: PowerShell, script: str) -> ScriptRun:
    """Runs the script (it signs in to Exchange interactively); cancelling the task stops PowerShell."""
    process = await asyncio.create_subprocess_exec(
        shell.path, "-NoProfile", "-Command", "-", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await process.communicate(script.encode() + b"\n")
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    return ScriptRun(process.returncode or 0, output.decode(errors="replace")[-4000:])
