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
# What the big receivers publish about the records they check: the DNS page's help links there, not to RFCs.
GOOGLE_SPF = ("Google: set up SPF", "https://support.google.com/a/answer/33786")
GOOGLE_DKIM = ("Google: set up DKIM", "https://support.google.com/a/answer/174124")
GOOGLE_DMARC = ("Google: set up DMARC", "https://support.google.com/a/answer/2466580")
GOOGLE_POSTMASTER = ("Google Postmaster Tools: your spam rate as Gmail sees it",
                     "https://support.google.com/a/answer/9981691")
MICROSOFT_SPF = ("Microsoft: set up SPF for your domain",
                 "https://learn.microsoft.com/defender-office-365/email-authentication-spf-configure")
MICROSOFT_DKIM = ("Microsoft: set up DKIM for your domain",
                  "https://learn.microsoft.com/defender-office-365/email-authentication-dkim-configure")
MICROSOFT_DMARC = ("Microsoft: set up DMARC for your domain",
                   "https://learn.microsoft.com/defender-office-365/email-authentication-dmarc-configure")
OUTLOOK_SENDER_SUPPORT = ("Outlook.com: sender support for Hotmail and Outlook.com addresses",
                          "https://sendersupport.olc.protection.outlook.com/pm/")
RECEIVER_LINKS = (GOOGLE_SENDER_GUIDELINES, GOOGLE_SPF, GOOGLE_DKIM, GOOGLE_DMARC, GOOGLE_POSTMASTER,
                  MICROSOFT_SPF, MICROSOFT_DKIM, MICROSOFT_DMARC, OUTLOOK_SENDER_SUPPORT)

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


# Further paragraphs for the pages whose subject needs more than one: the terms the page uses, explained.
MORE_TEXT: dict[PageId, tuple[str, ...]] = {
    PageId.SMTP: (
        "Security is how the connection is encrypted. STARTTLS (usually port 587) connects unencrypted and then "
        "switches encryption on before anything private is sent. SSL/TLS (usually port 465, also called implicit "
        "TLS) is encrypted from the first byte. Both are safe; they are not interchangeable: the wrong one for a "
        "port makes the connection wait or fail, and the page warns when a pair looks wrong.",
        "A custom CA file is only needed when your server's certificate was issued by your own organisation (a "
        "private certificate authority) instead of a public one. It is a .pem or .crt file your IT department "
        "gives you; with it Mailwright can still check that it talks to the right server. Leave it empty for any "
        "public provider.",
        "The connect timeout is how long Mailwright waits for the server to answer. 30 seconds suits almost every "
        "server; raise it only for a very slow one.",
    ),
    PageId.CHECK: (
        "The steps: find the server's address (DNS), connect, encrypt the connection (TLS), greet the server "
        "(EHLO, where it lists what it supports), sign in (AUTH), and have the sender address accepted. The "
        "running step counts its seconds, so a server that does not answer is seen waiting, not frozen.",
        "When a step fails, the box below it says what it means and what to change; Back returns to the settings.",
    ),
    PageId.DNS: (
        "SPF lists the servers allowed to send for your domain; DKIM is a signature your provider adds to each "
        "message, checked against a key published in DNS under a name called the selector; DMARC tells receivers "
        "what to do when both fail. Enter your DKIM selector if Mailwright does not find your key (it is the s= "
        "tag in the DKIM-Signature header of a message you sent), and roughly how many messages a day you send: "
        "from 5000 a day Google, Yahoo and Microsoft apply stricter rules.",
        "A DNS change can take as long as the record's time to live (TTL) to be seen everywhere; the page says how "
        "long. Google's Postmaster Tools, a free dashboard, shows how Gmail rates your domain once you send.",
    ),
    PageId.TEST_MAIL: (
        "The message goes straight through the account you are setting up, not through the outbox, so what you see "
        "is exactly what the server answered. Send it to a mailbox at another provider to see it arrive as your "
        "recipients will.",
    ),
    PageId.SUMMARY: (
        "Finish saves the account and closes the wizard. The loopback relay lets programs on this computer hand "
        "over their mail by SMTP without a password; other computers cannot reach it. Leave it off if your "
        "programs use the command line or the Python API.",
    ),
    PageId.SENDER_SETTINGS: (
        "Authorised domains and senders stop a program from sending as someone it should not: mail from any other "
        "address is blocked, or sent with an alert, as you choose. Priority decides which queued mail goes first.",
    ),
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
    if page is PageId.DNS:  # the records receivers check: what Google and Microsoft themselves say about them
        return list(RECEIVER_LINKS)
    if page in {PageId.WELCOME, PageId.SENDER, PageId.DELIVERY, PageId.SENDER_SETTINGS}:
        return []
    return provider_links(state)


def help_html(page: PageId, title: str, state: WizardState) -> str:
    """The help text for one page as HTML: the explanation, then links (opened in the system browser)."""
    paragraphs = (PAGE_TEXT[page], *MORE_TEXT.get(page, ()))
    parts = [f"<h3>{escape(title)}</h3>", *(f"<p>{escape(text)}</p>" for text in paragraphs)]
    links = page_links(page, state)
    if links:
        items = "".join(f'<li><a href="{escape(url, quote=True)}">{escape(text)}</a></li>' for text, url in links)
        heading = ("What Google and Microsoft, the largest receivers, say about these records:" if page is PageId.DNS
                   else "Your provider's own documentation:")
        parts.append(f"<p>{heading}</p><ul>{items}</ul>")
    return "".join(parts)
