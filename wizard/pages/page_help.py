"""The wizard's Help button: what the current page is for, in plain words, with the provider's own documentation."""

from __future__ import annotations

from html import escape

from wizard.pages.ids import PageId
from wizard.pages.state import WizardState
from wizard.services import providers
from wizard.services.model import AuthMode, ProviderKind

MICROSOFT_SMTP_OAUTH = ("Microsoft: authenticate SMTP with OAuth",
                        "https://learn.microsoft.com/exchange/client-developer/legacy-protocols/"
                        "how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth")
MICROSOFT_SMTP_AUTH = ("Microsoft: enable or disable SMTP AUTH (authenticated client submission)",
                       "https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/"
                       "authenticated-client-smtp-submission")
MICROSOFT_REGISTER_APP = ("Microsoft: register an application in Entra ID",
                          "https://learn.microsoft.com/entra/identity-platform/quickstart-register-app")
MICROSOFT_GRAPH_SENDMAIL = ("Microsoft Graph: user: sendMail",
                            "https://learn.microsoft.com/graph/api/user-sendmail")
MICROSOFT_APP_RBAC = ("Microsoft: Role Based Access Control for Applications in Exchange Online",
                      "https://learn.microsoft.com/exchange/permissions-exo/application-rbac")
GOOGLE_APP_PASSWORDS = ("Google: sign in with app passwords", "https://support.google.com/accounts/answer/185833")
GOOGLE_SMTP = ("Google Workspace: send mail from a printer, scanner or app", "https://support.google.com/a/answer/176600")
GOOGLE_OAUTH_DESKTOP = ("Google: OAuth 2.0 for desktop apps",
                        "https://developers.google.com/identity/protocols/oauth2/native-app")
GOOGLE_SENDER_GUIDELINES = ("Google: email sender guidelines", "https://support.google.com/a/answer/81126")
SPF_RFC = ("RFC 7208: Sender Policy Framework (SPF)", "https://www.rfc-editor.org/rfc/rfc7208")
DMARC_RFC = ("RFC 7489: DMARC", "https://www.rfc-editor.org/rfc/rfc7489")

Link = tuple[str, str]

PAGE_TEXT: dict[PageId, str] = {
    PageId.WELCOME: "Mailwright sets up the mail account your application sends through, proves that it works, "
                    "and then delivers the application's mail. Start a new account, or check or change a saved one.",
    PageId.SENDER: "Type the address your application's mail should come from (for example support@yourcompany.com). "
                   "Find my provider looks at the bundled list of providers, your domain's MX records, its "
                   "autoconfig document and, if nothing else answers, the usual SMTP servers. Nothing is sent.",
    PageId.PROVIDER: "Confirm the proposed provider or choose another. Microsoft 365 SMTP needs SMTP AUTH enabled "
                     "for the mailbox; where your tenant turned it off, choose Microsoft Graph. For any other "
                     "service pick it from the list of known services, or 'my own server'.",
    PageId.SMTP: "Your provider's SMTP server, its port and security (587 with STARTTLS or 465 with TLS are the "
                 "usual ones), and the user name and password. Many providers want an app password or an API key "
                 "instead of your normal password. The password goes to this computer's keyring, never to a file.",
    PageId.M365_AUTH: "Recommended: let Mailwright set everything up with one administrator sign-in. Or choose how "
                      "Mailwright signs in to Microsoft yourself: in your browser (an administrator or the mailbox "
                      "owner consents once), with a device code (for a machine without a browser), or app-only with "
                      "a client secret or certificate (no user sign-in; needs an app registration and, for SMTP, "
                      "the Exchange service principal).",
    PageId.M365_SETUP: "An administrator signs in once in the browser. Mailwright then reads the tenant, makes a key "
                       "and certificate on this computer (no client secret), registers its app, grants it only the "
                       "permission the chosen mode needs, saves the profile and runs the check. New apps take a few "
                       "minutes to become usable: the page counts down while it waits. Registering needs Application "
                       "Administrator or Cloud Application Administrator; granting application permissions needs "
                       "Privileged Role Administrator or Global Administrator.",
    PageId.AZURE_REGISTRATION: "Register Mailwright once in your Microsoft Entra tenant. Follow the steps, copy the "
                               "values with the buttons, and paste the tenant and client IDs back. Copy a client "
                               "secret's Value (not its Secret ID) and note its expiry: Mailwright warns before it "
                               "runs out.",
    PageId.GMAIL_AUTH: "Gmail and Google Workspace accept an app password (16 letters; needs 2-Step Verification) "
                       "or Google sign-in with your own OAuth client (import its client JSON). App passwords can be "
                       "missing when your account only uses security keys, has Advanced Protection, or your "
                       "administrator turned them off.",
    PageId.GRAPH_PERMISSIONS: "The application permission Mail.Send lets the app send as any mailbox in your tenant. "
                              "Run the lines shown (RBAC for Applications) to limit it to the sender mailbox, and "
                              "Test-ServicePrincipalAuthorization to verify.",
    PageId.CHECK: "The check connects to your provider step by step and stops at the first step that fails, with "
                  "what it means and how to fix it. It signs in and has the sender address accepted, but sends "
                  "nothing.",
    PageId.SENDER_SETTINGS: "Optional rules for who may send through this account (authorised domains and senders), "
                            "a postmaster address that replaces the sender when the provider only lets the account "
                            "send as itself, and the account's priority.",
    PageId.DELIVERY: "How the background sender behaves: retries after temporary errors, how long it keeps trying, "
                     "a pause between messages, and how long sent mail is kept in the outbox. The defaults suit "
                     "most accounts.",
    PageId.DNS: "Receivers such as Gmail and Outlook.com check your domain's SPF, DKIM and DMARC records. This page "
                "shows what is missing for this provider, the exact records to publish, and a letter you can send "
                "to whoever manages your domain's DNS. Problems here do not stop the account from working.",
    PageId.TEST_MAIL: "Send yourself a real message through the account before you save it. The server's answer "
                      "(with its queue id) is shown, or what went wrong and how to fix it.",
    PageId.SUMMARY: "Save the account: its settings go to the settings file, its password or secret to this "
                    "computer's keyring. Then your applications can hand their mail to Mailwright: the loopback "
                    "relay, the mailwright send command, or the Python API.",
}


def provider_links(state: WizardState) -> list[Link]:
    """The documentation of the provider being set up: Microsoft's, Google's, or the catalogue entry's."""
    if state.draft.provider is ProviderKind.M365_SMTP:
        return [MICROSOFT_SMTP_OAUTH, MICROSOFT_SMTP_AUTH]
    if state.draft.provider is ProviderKind.GRAPH:
        return [MICROSOFT_GRAPH_SENDMAIL, MICROSOFT_APP_RBAC]
    if state.draft.provider is ProviderKind.GMAIL:
        oauth = state.draft.auth is not AuthMode.PASSWORD
        return [GOOGLE_OAUTH_DESKTOP if oauth else GOOGLE_APP_PASSWORDS, GOOGLE_SMTP]
    entry = providers.load_catalogue().get(state.draft.preset) if state.draft.preset else None
    if entry is None:
        return []
    urls = [preset.doc_url for preset in entry.smtp if preset.doc_url] + ([entry.doc_url] if entry.doc_url else [])
    return [(f"{entry.name}: {index}" if len(urls) > 1 else entry.name, url)
            for index, url in enumerate(dict.fromkeys(urls), start=1)]


def page_links(page: PageId, state: WizardState) -> list[Link]:
    if page is PageId.AZURE_REGISTRATION:
        return [MICROSOFT_REGISTER_APP, *provider_links(state)]
    if page is PageId.GRAPH_PERMISSIONS:
        return [MICROSOFT_APP_RBAC, MICROSOFT_GRAPH_SENDMAIL]
    if page is PageId.DNS:
        return [*provider_links(state), GOOGLE_SENDER_GUIDELINES, SPF_RFC, DMARC_RFC]
    if page in {PageId.WELCOME, PageId.SENDER, PageId.DELIVERY, PageId.SENDER_SETTINGS}:
        return []
    return provider_links(state)


def help_html(page: PageId, title: str, state: WizardState) -> str:
    """The help text for one page as HTML: the explanation, then links (opened in the system browser)."""
    parts = [f"<h3>{escape(title)}</h3>", f"<p>{escape(PAGE_TEXT[page])}</p>"]
    links = page_links(page, state)
    if links:
        items = "".join(f'<li><a href="{escape(url, quote=True)}">{escape(text)}</a></li>' for text, url in links)
        parts.append(f"<p>Your provider's own documentation:</p><ul>{items}</ul>")
    return "".join(parts)
