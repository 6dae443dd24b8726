"""Server and token errors -> a `Diagnosis` an administrator can act on.

The knowledge base is data: `ENTRIES` holds the words for each stable code, `code_for_reply`
and `TOKEN_RULES` map what a server or identity provider said to a code (for the words only: what a
failure means for delivery is `errors.failure_scope`, from the reply's stage and codes). Transports and the
OAuth service raise typed errors; only this module turns them into words, so every page,
the CLI and the outbox explain a failure the same way. Sources: ../shared/REFERENCE.md.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Diagnosis:
    code: str
    title: str
    explanation: str
    fix: str
    detail: str = ""  # the server's exact reply or the underlying error, for the unknown case and support

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Entry:
    title: str
    explanation: str
    fix: str


# Texts may use {host}, {port}, {username}, {from_address}, {reply}, {suggestion}, {reason}.
ENTRIES: dict[str, Entry] = {
    "auth_failed": Entry(
        "The server rejected the user name or password",
        "The server answered: {reply}. The user name or password is wrong, or this account may not "
        "sign in with a password from applications.",
        "Check the user name (often the full e-mail address) and type the password again. If the account "
        "uses two-step verification, create an app password and use it instead.",
    ),
    "basic_auth_disabled": Entry(
        "SMTP AUTH is disabled for the tenant or this mailbox",
        "Microsoft 365 answered {reply}: authenticated SMTP (SMTP AUTH) is turned off, either for the "
        "whole tenant (Security Defaults or Set-TransportConfig) or for this mailbox. "
        "This also blocks OAuth (XOAUTH2).",
        "In Exchange Online PowerShell run:  Set-CASMailbox -Identity {from_address} "
        "-SmtpClientAuthenticationDisabled $false  (or enable SMTP AUTH for the mailbox in the Microsoft 365 admin "
        "center > Users > Mail > Manage email apps). Or send through Microsoft Graph instead, "
        "which does not need SMTP AUTH.",
    ),
    "app_password_required": Entry(
        "This account needs an app password",
        "The server answered {reply}: the account has two-step verification, so your normal password "
        "cannot be used by applications.",
        "Create an app password in the account's security settings (Google: myaccount.google.com/apppasswords) "
        "and enter it here instead of your normal password.",
    ),
    "browser_login_required": Entry(
        "Sign in through a web browser first",
        "The server answered {reply}: the provider blocked this sign-in as suspicious until you confirm it.",
        "Sign in to the account in a web browser, confirm the security alert, then run the check again. "
        "An app password or OAuth avoids this.",
    ),
    "tls_required": Entry(
        "The server requires an encrypted connection",
        "{reason} Mailwright did not send your password over the unencrypted connection.",
        "Choose STARTTLS (usually port 587) or implicit TLS (usually port 465) as the security setting.",
    ),
    "tls_certificate": Entry(
        "The server's certificate could not be verified",
        "{reason}",
        "If the server uses a certificate from your organisation's own certificate authority, select that "
        "CA file in the connection settings. Otherwise check that the host name is exactly the one on the "
        "certificate (e.g. smtp.example.com, not an IP address or an alias).",
    ),
    "tls_failed": Entry(
        "The encrypted connection could not be set up",
        "TLS negotiation with {host}:{port} failed: {reason}",
        "Check the security mode: port 465 expects implicit TLS, port 587 expects STARTTLS. The server may "
        "also only offer an old TLS version that is no longer considered safe.",
    ),
    "tls_mode_mismatch": Entry(
        "The security setting does not match the port",
        "{reason}",
        "Choose {suggestion} for port {port}: port 465 expects SSL/TLS (implicit TLS), port 587 expects STARTTLS.",
    ),
    "ca_file_unreadable": Entry(
        "The CA file of this profile cannot be used",
        "{reason}",
        "Select the CA file again in the connection settings (a PEM file with the certificate authority), or "
        "clear the field to use this computer's trusted certificates.",
    ),
    "connect_failed": Entry(
        "Could not connect to the server",
        "Connecting to {host} on port {port} failed: {reason}",
        "Check the host name and port, and that a firewall allows outgoing connections to this port.{suggestion}",
    ),
    "dns_failed": Entry(
        "The server's name could not be found",
        "The host name {host} does not resolve: {reason}",
        "Check the spelling of the host name (e.g. smtp.example.com) and that this computer can resolve "
        "Internet names.",
    ),
    "timeout": Entry(
        "The server did not answer in time",
        "{reason}",
        "The server may be overloaded, or a firewall may silently drop the connection. Check the host and "
        "port, try again later, or increase the timeout.",
    ),
    "send_as_denied": Entry(
        "This account may not send as {from_address}",
        "The server answered {reply}: the sender address is not the signed-in mailbox and the account has no "
        "'Send As' permission for it.",
        "Use the signed-in mailbox as the sender address, or grant Send As: in Exchange Online PowerShell "
        "run  Add-RecipientPermission -Identity {from_address} -Trustee {username} -AccessRights SendAs.",
    ),
    "relay_denied": Entry(
        "The server refuses to relay this mail",
        "The server answered {reply}: it does not accept mail for delivery from this connection.",
        "Sign in (enter a user name and password) so the server knows the sender, or ask the mail "
        "administrator to allow relaying from this computer (Microsoft 365: check the connector's certificate "
        "or IP address for TenantAttribution errors).",
    ),
    "sender_rejected": Entry(
        "The server refused the sender address",
        "The server answered {reply} to MAIL FROM:<{from_address}>.",
        "Use an address that belongs to the signed-in account or to a domain the provider has verified.",
    ),
    "recipient_rejected": Entry(
        "The server refused a recipient",
        "The server answered {reply}.",
        "Check the recipient address for typos. If it is correct, the receiving side rejects it.",
    ),
    "auth_not_supported": Entry(
        "The server does not offer sign-in",
        "The server does not advertise AUTH{reason}.",
        "Check the port (submission is 587 or 465, not 25), or leave the user name empty if the server "
        "accepts mail from this computer without signing in.",
    ),
    "throttled": Entry(
        "The provider is limiting how fast you send",
        "The server answered {reply}: too many messages or connections in a short time.",
        "Wait a little; queued mail is retried automatically. Lower the sending rate if it keeps happening.",
    ),
    "quota_exceeded": Entry(
        "The daily sending limit is reached",
        "The server answered {reply}.",
        "Wait until the quota resets (usually 24 hours) or move high-volume mail to a dedicated sending service.",
    ),
    "dmarc_rejected": Entry(
        "The receiver rejected the mail because of SPF/DKIM/DMARC",
        "The server answered {reply}: your domain's DNS does not authorise this sender.",
        "Open the DNS health page and publish the records it recommends.",
    ),
    "tls_version": Entry(
        "The server needs a newer TLS version",
        "The server answered {reply}.",
        "Update this computer's TLS libraries; Microsoft 365 requires TLS 1.2 or newer.",
    ),
    "message_rejected": Entry(
        "The server rejected the message",
        "The server answered {reply}.",
        "Read the server's reply above; it names the reason. Fix the message or account accordingly.",
    ),
    "server_error": Entry(
        "The server reported an error",
        "The server answered {reply}.",
        "Read the server's reply above. If it starts with 4, the problem is temporary: try again later.",
    ),
    "disconnected": Entry(
        "The server closed the connection",
        "{reason}",
        "Check the security mode and port; servers often hang up when they expect TLS and receive plain text. "
        "Try again later if it happens intermittently.",
    ),
    # Microsoft Graph (transports/graph.py); the PowerShell is explained in graph_guide.py.
    "access_denied": Entry(
        "Microsoft Graph refused access to the mailbox {from_address}",
        "Graph answered {reply}: the app has no Mail.Send permission for this mailbox, admin consent is "
        "missing, or an RBAC for Applications scope / application access policy excludes {from_address}.",
        "Grant Mail.Send for this mailbox only, in Exchange Online PowerShell:  New-ManagementScope -Name "
        "'Mailwright sender {from_address}' -RecipientRestrictionFilter 'PrimarySmtpAddress -eq \"{from_address}\"'  "
        "then  New-ManagementRoleAssignment -App '{app_id}' -Role 'Application Mail.Send' -CustomResourceScope "
        "'Mailwright sender {from_address}'  (or add the mailbox to the group of your New-ApplicationAccessPolicy). "
        "Verify with  Test-ServicePrincipalAuthorization -Identity '{app_id}' -Resource '{from_address}'. "
        "Delegated sign-in: consent to Mail.Send (Mail.Send.Shared for a shared mailbox).",
    ),
    "mailbox_not_enabled": Entry(
        "{from_address} has no Exchange Online mailbox Graph can use",
        "Graph answered {reply}: the user has no Exchange Online licence, no mailbox yet, the mailbox is "
        "on-premises, or the address is not the mailbox's primary address.",
        "Assign an Exchange Online licence (Microsoft 365 admin center > Users > Licenses), wait for the mailbox "
        "to be created, and use its primary SMTP address as the sender. On-premises mailboxes need SMTP instead.",
    ),
    "invalid_token": Entry(
        "Microsoft Graph rejected the access token",
        "Graph answered {reply} even after a fresh token was fetched: the token is for another resource or "
        "cloud (audience), the app was removed, or its consent was revoked.",
        "Check that the profile's cloud matches the tenant (worldwide, US Government, China), then sign in again "
        "or re-grant admin consent for the app.",
    ),
    # OAuth token errors (services/oauth/errors.py maps AADSTS codes and OAuth error names to these).
    "invalid_client_secret": Entry(
        "The client secret is wrong",
        "The identity provider answered {reply}. A common cause: the secret's ID was pasted instead of its Value.",
        "In Entra admin center > App registrations > your app > Certificates & secrets, create a new client "
        "secret and copy its Value column (shown only once), not the Secret ID.",
    ),
    "client_secret_expired": Entry(
        "The client secret has expired",
        "The identity provider answered {reply}.",
        "Create a new client secret for the app (Certificates & secrets > New client secret), enter its Value "
        "in Mailwright, and note the new expiry date.",
    ),
    "app_not_found": Entry(
        "The app is not registered in this tenant",
        "The identity provider answered {reply}: the Application (client) ID is wrong or belongs to another tenant.",
        "Copy the Application (client) ID and the Directory (tenant) ID again from the app's Overview page.",
    ),
    "tenant_not_found": Entry(
        "The tenant was not found",
        "The identity provider answered {reply}: the tenant ID or domain is wrong, or it belongs to another "
        "cloud (worldwide, US Government, China).",
        "Copy the Directory (tenant) ID from the app's Overview page and choose the matching cloud.",
    ),
    "consent_required": Entry(
        "Consent for the app is missing",
        "The identity provider answered {reply}: the permission was never granted to this app.",
        "Open the admin consent link shown in the wizard as a Global or Privileged Role Administrator, or "
        "grant consent in Entra admin center > App registrations > API permissions.",
    ),
    "mfa_required": Entry(
        "Multi-factor sign-in is required",
        "The identity provider answered {reply}.",
        "Sign in interactively (mailwright oauth login) so you can complete the second factor.",
    ),
    "personal_account": Entry(
        "A personal or guest account was used",
        "The identity provider answered {reply}: this app accepts work accounts of its own tenant only.",
        "Sign in with the organisation's work account (the mailbox itself), or use the authority 'common' if "
        "personal Microsoft accounts are meant.",
    ),
    "public_client_disabled": Entry(
        "Device code sign-in is not allowed for this app",
        "The identity provider answered {reply}.",
        "In Entra admin center > App registrations > your app > Authentication, set 'Allow public client "
        "flows' to Yes and save.",
    ),
    "token_expired": Entry(
        "The sign-in has expired",
        "The identity provider answered {reply}: the stored sign-in is no longer valid (unused for 90 days, "
        "password changed, revoked, or a sign-in frequency policy).",
        "Sign in again: mailwright oauth login (or 'Sign in' in the wizard). Held mail is sent afterwards.",
    ),
    "not_signed_in": Entry(
        "Nobody has signed in for this profile yet",
        "{reason}",
        "Sign in: mailwright oauth login (or 'Sign in' in the wizard).",
    ),
    "security_defaults": Entry(
        "Blocked by Security Defaults",
        "The identity provider answered {reply}: the tenant's Security Defaults block this sign-in.",
        "Use Microsoft Graph or app-only credentials, or replace Security Defaults with Conditional Access "
        "policies that allow this app.",
    ),
    "oauth_not_authorized": Entry(
        "The mailbox did not accept the OAuth token",
        "{host} answered {reply}: the token is valid but not authorised for this mailbox (missing service "
        "principal or mailbox permission, wrong scope, or the user name is not the mailbox).",
        "App-only: in Exchange Online PowerShell run  New-ServicePrincipal -AppId <Application (client) ID> "
        "-ObjectId <Enterprise application object ID>  then  Add-MailboxPermission -Identity {username} -User "
        "<service principal ID> -AccessRights FullAccess. Delegated: sign in as {username} itself.",
    ),
    "oauth_failed": Entry(
        "The identity provider refused the sign-in",
        "The identity provider answered {reply}.",
        "Read the error above; check the tenant, client ID and credentials in the profile.",
    ),
    "keyring_unavailable": Entry(
        "No secure keyring is available",
        "{reason}",
        "Install or unlock the system keyring (GNOME Keyring, KWallet, Windows Credential Manager, macOS Keychain).",
    ),
    "secret_missing": Entry(
        "The password for this profile is not in the keyring",
        "The profile needs a secret, but the keyring has none stored for it.",
        "Enter the password again in the wizard, or run  mailwright profile add ... --password-stdin.",
    ),
    "invalid_input": Entry(
        "A setting is not valid",
        "{reason}",
        "Correct the value and try again.",
    ),
    "message_too_large": Entry(
        "The message is too large for the server",
        "The server answered {reply}.",
        "Send the attachment as a link, or split it: this message is not retried.",
    ),
    "storage_full": Entry(
        "The disk holding the outbox is full",
        "{reason}",
        "Free space on the disk of Mailwright's data folder. Sending stops until then and resumes by itself; "
        "queued mail is kept.",
    ),
    "outbox_busy": Entry(
        "Another program holds the outbox locked",
        "{reason}",
        "Close the program that opened outbox.sqlite3 (a database browser, a backup tool). Mailwright waits "
        "and resumes by itself.",
    ),
    "internal_error": Entry(
        "Mailwright ran into an unexpected problem",
        "{reason}",
        "The message stays queued and is tried again later. Please report the problem with the log file "
        "({log_path}).",
    ),
    "unknown": Entry(
        "The server reported an unexpected problem",
        "{reason}",
        "Read the server's exact reply above; it usually names the cause. Search the provider's "
        "documentation for the code it gives.",
    ),
}


# What a reply's enhanced status (RFC 3463) says, for the words; the failure scope is errors.failure_scope.
_CODE_BY_ENHANCED = {
    "5.7.139": "basic_auth_disabled",
    "5.7.30": "basic_auth_disabled",
    "5.7.9": "app_password_required",
    "5.7.14": "browser_login_required",
    "5.7.57": "tls_required",
    "5.7.64": "relay_denied",
    "5.7.60": "send_as_denied",
    "5.2.252": "send_as_denied",
    "5.4.5": "quota_exceeded",
    "5.2.251": "throttled",
    "5.2.253": "throttled",
    "5.2.254": "throttled",
    "5.2.255": "throttled",
    "4.7.28": "throttled",
    "4.3.2": "throttled",
    "4.7.66": "tls_version",
    "5.7.26": "dmarc_rejected",
    "5.7.515": "dmarc_rejected",
}
# Replies that carry no enhanced status, recognised by their standard wording (words only, never behaviour).
_CODE_BY_WORDING = [
    ("app_password_required", re.compile(r"Application-specific password required", re.IGNORECASE)),
    ("basic_auth_disabled", re.compile(r"SmtpClientAuthentication is disabled", re.IGNORECASE)),
    ("send_as_denied", re.compile(r"SendAsDenied", re.IGNORECASE)),
    ("relay_denied", re.compile(r"TenantAttribution", re.IGNORECASE)),
]
_TLS_WORDING = re.compile(r"STARTTLS|Encryption required|TLS required", re.IGNORECASE)


def code_for_reply(stage: str, reply_code: int, enhanced: str, text: str) -> str:
    """The diagnosis code (the words) for an SMTP reply, from its stage, code and enhanced status.
    `stage` is an errors.Stage value, or '' when unknown."""
    if enhanced in _CODE_BY_ENHANCED:
        return _CODE_BY_ENHANCED[enhanced]
    if not enhanced:
        for code, wording in _CODE_BY_WORDING:
            if wording.search(text):
                return code
    if reply_code == 421:
        return "throttled"  # the server is closing the channel: too many connections or messages for now
    if reply_code == 530:
        return "tls_required" if _TLS_WORDING.search(text) or (stage == "mail" and not enhanced) else "auth_failed"
    if stage == "tls":
        return "tls_failed"  # STARTTLS refused, 454 (temporary) included: never "throttled"
    if 400 <= reply_code < 500:
        return "server_error"
    if stage == "auth" or reply_code in (534, 535):
        return "auth_failed"
    if stage == "mail":
        return "sender_rejected"  # Send As denials with their own codes (5.7.60, 5.2.252) are mapped above
    if stage == "rcpt":
        return "recipient_rejected"
    return "message_rejected" if reply_code >= 500 else "unknown"


# AADSTS codes -> diagnosis code (OAuth issue extends ENTRIES with the texts).
TOKEN_RULES: dict[str, str] = {
    "50076": "mfa_required",
    "65001": "consent_required",
    "700016": "app_not_found",
    "7000215": "invalid_client_secret",
    "7000222": "client_secret_expired",
    "50020": "personal_account",
    "500208": "personal_account",
    "90002": "tenant_not_found",
    "530035": "security_defaults",
    "7000218": "public_client_disabled",
    "700082": "token_expired",
    "70043": "token_expired",
    "50173": "token_expired",
}

_ENHANCED = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


def format_reply(reply_code: int, message: str) -> str:
    text = " ".join(message.split())
    return f"{reply_code} {text}" if reply_code else text


def make(code: str, *, detail: object = "", **context: object) -> Diagnosis:
    """The diagnosis for `code`, with the texts filled from `context` (missing keys stay readable)."""
    detail = str(detail)
    entry = ENTRIES.get(code) or ENTRIES["unknown"]
    values = _Context({k: str(v) for k, v in context.items()})
    if "reply" not in values and detail:
        values["reply"] = detail
    if "reason" not in values:
        values["reason"] = detail or "No further details were given."
    return Diagnosis(
        code=code if code in ENTRIES else "unknown",
        title=entry.title.format_map(values),
        explanation=entry.explanation.format_map(values),
        fix=entry.fix.format_map(values),
        detail=detail,
    )


class _Context(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return {"suggestion": "", "from_address": "the sender address", "username": "the signed-in user",
                "log_path": "mailwright.log in the data folder's logs"}.get(
            key, f"<{key}>")


def code_for_smtp_reply(reply_code: int, message: str, stage: str = "") -> str:
    return code_for_reply(stage, reply_code, enhanced_status(message), message)


def diagnose_smtp_reply(reply_code: int, message: str, stage: str = "", **context: object) -> Diagnosis:
    """A server reply -> Diagnosis; the reply itself is always kept in `detail`."""
    reply = format_reply(reply_code, message)
    return make(code_for_smtp_reply(reply_code, message, stage), detail=reply, reply=reply, **context)


def enhanced_status(message: str) -> str:
    """The RFC 3463 enhanced status code a reply starts with ('5.7.139'), or '' (RFC 2034: it comes first)."""
    match = _ENHANCED.match(message)
    return match.group(1) if match else ""


def is_transient(reply_code: int) -> bool:
    """RFC 5321: 4yz is a transient failure (retry), 5yz permanent."""
    return 400 <= reply_code < 500


def token_error_code(error_text: str) -> str:
    """Map an AADSTS message ('AADSTS7000215: Invalid client secret...') to a diagnosis code."""
    match = re.search(r"AADSTS(\d+)", error_text)
    if match and match.group(1) in TOKEN_RULES:
        return TOKEN_RULES[match.group(1)]
    return "unknown"
