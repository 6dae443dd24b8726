"""How to point an application at the relay: ready settings for the clients the MailUp SMTP+ guides name
(Outlook, WordPress with WP Mail SMTP's "Other SMTP", Magento, Salesforce) and for PHPMailer, Python and curl,
with the address, port, security and user filled in. Pure text: the relay dialog shows it, tests read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RelayEndpoint:
    host: str
    port: int
    security: str  # "none" (loopback), "starttls" or "tls" (implicit, port 465 style)
    user: str = ""  # "" when the relay takes mail without a sign-in (loopback without require_auth)

    @property
    def reachable_from_the_internet(self) -> bool:
        return self.host not in {"127.0.0.1", "::1", "localhost"}


@dataclass(frozen=True)
class ClientGuide:
    client: str
    settings: str
    note: str = ""


def _security_words(endpoint: RelayEndpoint) -> str:
    return {"none": "None (no encryption: the relay is on this computer)", "starttls": "STARTTLS",
            "tls": "SSL/TLS"}[endpoint.security]


def _password_words(endpoint: RelayEndpoint) -> str:
    return "the relay user's password (Reset password shows a new one once)" if endpoint.user else "(none)"


def client_guides(endpoint: RelayEndpoint) -> list[ClientGuide]:
    host, port, user = endpoint.host, endpoint.port, endpoint.user
    signed_in = bool(user)
    php_secure = {"none": "''", "starttls": "PHPMailer::ENCRYPTION_STARTTLS",
                  "tls": "PHPMailer::ENCRYPTION_SMTPS"}[endpoint.security]
    python_client = "smtplib.SMTP_SSL" if endpoint.security == "tls" else "smtplib.SMTP"
    python_lines = [f"with {python_client}({host!r}, {port}) as smtp:"]
    if endpoint.security == "starttls":
        python_lines.append("    smtp.starttls()")
    if signed_in:
        python_lines.append(f"    smtp.login({user!r}, os.environ['RELAY_PASSWORD'])")
    python_lines.append("    smtp.send_message(message)")
    wp_encryption = {"none": "None", "starttls": "TLS", "tls": "SSL"}[endpoint.security]  # WP Mail SMTP's words
    scheme = "smtps" if endpoint.security == "tls" else "smtp"
    curl = [f"curl --url '{scheme}://{host}:{port}'"]
    if endpoint.security == "starttls":
        curl.append("--ssl-reqd")
    if signed_in:
        curl.append(f"--user '{user}:'\"$RELAY_PASSWORD\"")
    curl.append("--mail-from app@example.com --mail-rcpt customer@example.net --upload-file message.eml")
    common = (f"Server: {host}\nPort: {port}\nEncryption: {_security_words(endpoint)}\n"
              f"Authentication: {'on' if signed_in else 'off'}\nUser name: {user or '(none)'}\n"
              f"Password: {_password_words(endpoint)}")
    guides = [
        ClientGuide("Outlook", "File > Account Settings > New > Manual setup > POP or IMAP, then More Settings > "
                    f"Outgoing Server:\n{common}",
                    "Outlook needs an incoming server too: enter the mailbox's own; only outgoing mail uses the "
                    "relay."),
        ClientGuide("WordPress (WP Mail SMTP)", "WP Mail SMTP > Settings > Mailer: Other SMTP\n"
                    f"SMTP Host: {host}\nEncryption: {wp_encryption}"
                    f"\nSMTP Port: {port}\nAuto TLS: {'off' if endpoint.security == 'none' else 'on'}\n"
                    f"Authentication: {'on' if signed_in else 'off'}\nSMTP Username: {user or '(leave empty)'}\n"
                    "SMTP Password: define WPMS_SMTP_PASS in wp-config.php rather than in the database"),
        ClientGuide("Magento", "Stores > Configuration > Advanced > System > Mail Sending Settings: Transport "
                    f"SMTP\n{common}"),
        ClientGuide("Salesforce", "Setup > Email > Email Relays > Create Email Relay\n"
                    f"Host: {host}\nPort: {port}\nTLS Setting: Required Verify\nEnable SMTP Authentication: on\n"
                    f"User name: {user or '(a relay user is required)'}",
                    "Salesforce sends from the internet: it needs the network relay (`serve --allow-remote`) with a "
                    "certificate a public CA signed, STARTTLS or SSL/TLS, and a relay user."
                    + ("" if endpoint.reachable_from_the_internet else
                       " This relay listens on loopback only, so Salesforce cannot reach it.")),
        ClientGuide("PHPMailer", "$mail->isSMTP();\n"
                    f"$mail->Host = '{host}';\n$mail->Port = {port};\n$mail->SMTPSecure = {php_secure};\n"
                    f"$mail->SMTPAuth = {'true' if signed_in else 'false'};\n"
                    + (f"$mail->Username = '{user}';\n$mail->Password = getenv('RELAY_PASSWORD');\n"
                       if signed_in else "")),
        ClientGuide("Python", "import os, smtplib\n" + "\n".join(python_lines)),
        ClientGuide("curl", " \\\n    ".join(curl)),
    ]
    return guides
