"""Render every wizard page to docs/screenshots/*.png, driving the real flow against local servers.

    xvfb-run -a -s "-screen 0 1024x768x24" .venv/bin/python scripts/screenshots.py [OUTPUT_DIR] [--dark] [--scale F]

`--dark` renders with a dark palette (Fusion, as the app uses on a dark desktop whose style has no dark mode),
`--scale 1.5` at 150 % (QT_SCALE_FACTOR): each page is then checked in light, dark and large.

Starts an aiosmtpd STARTTLS server on 127.0.0.1 with a throwaway trustme CA and a DNS server on
loopback (the test extras), looks up the sender's provider, fills the SMTP page, runs the real
connection check (one failing, one passing), sends test mails, checks DNS health and shows the
summary. The Microsoft and Gmail sign-in pages are rendered with demo values. File names are the
page ids (`mailwright gui --page ID`). Nothing is saved: the data home is a temporary directory
and the keyring is never touched.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import ssl
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

ROOT = Path(__file__).resolve().parent.parent
DEMO_USER = "support@example.com"
DEMO_PASSWORD = "demo-app-password"


class DemoHandler:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.count += 1
        return f"250 2.0.0 Ok: queued as 4F2A9C{self.count:04d}"


def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (DEMO_USER, DEMO_PASSWORD)
    return AuthResult(success=ok, handled=False, message=None if ok else "535 5.7.8 Authentication credentials invalid")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(ca: trustme.CA) -> Controller:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    controller = Controller(DemoHandler(), hostname="127.0.0.1", port=free_port(), server_hostname="mail.example.com",
                            tls_context=context, authenticator=authenticate, auth_require_tls=True,
                            ready_timeout=5.0)
    controller.start()
    return controller


async def wait_signal(signal: Any, timeout_s: float = 30.0) -> tuple[Any, ...]:
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def fired(*args: Any) -> None:
        if not future.done():
            future.set_result(args)

    signal.connect(fired)
    try:
        return await asyncio.wait_for(future, timeout_s)
    finally:
        signal.disconnect(fired)


DEMO_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DEMO_CLIENT = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
DEMO_OBJECT = "99999999-8888-4777-8666-555555555555"
# The demo domain's DNS, served on loopback: an MX that autodetection maps to Microsoft 365, SPF and DMARC.
DEMO_ZONE = {
    "example.com": [("MX", "0 example-com.mail.protection.outlook.com", 60),
                    ("TXT", "v=spf1 include:spf.protection.outlook.com -all", 60)],
    "_dmarc.example.com": [("TXT", "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com", 60)],
}


async def render_all(out: Path, port: int, ca_file: str, nameserver: str) -> list[Path]:
    from dataclasses import replace

    from PySide6.QtWidgets import QLineEdit

    from wizard.app import SCREENSHOT_SIZE, grab
    from wizard.pages.ids import PageId
    from wizard.pages.state import DEFAULT_PROFILE_NAME, WizardState
    from wizard.pages.wizard import MailwrightWizard, SavedAccounts
    from wizard.services.model import AuthMode, Profile, ProviderKind
    from wizard.services.secret_source import DraftSecrets

    written: list[Path] = []

    async def shot(widget: Any, name: str) -> None:
        path = out / f"{name}.png"
        await grab(widget, path)
        written.append(path)

    async def branch_page(name: str, page: PageId, state: WizardState) -> None:
        """A sign-in page the demo's SMTP flow does not pass through, opened with demo values."""
        window = MailwrightWizard(SavedAccounts(state), start=page, autostart_check=False)
        window.resize(*SCREENSHOT_SIZE)
        await shot(window, name)
        window.close()

    microsoft = Profile(DEFAULT_PROFILE_NAME, from_address=DEMO_USER, tenant=DEMO_TENANT, client_id=DEMO_CLIENT)
    await branch_page("m365_auth", PageId.M365_AUTH, WizardState(draft=replace(
        microsoft, provider=ProviderKind.M365_SMTP, auth=AuthMode.OAUTH_INTERACTIVE)))
    await branch_page("azure_registration", PageId.AZURE_REGISTRATION, WizardState(
        draft=replace(microsoft, provider=ProviderKind.M365_SMTP, auth=AuthMode.CLIENT_SECRET),
        secrets=DraftSecrets(client_secret="abC8Q~" + "x" * 34), enterprise_object_id=DEMO_OBJECT))
    await branch_page("gmail_auth", PageId.GMAIL_AUTH, WizardState(
        draft=Profile(DEFAULT_PROFILE_NAME, provider=ProviderKind.GMAIL, from_address="support@gmail.com")))
    await branch_page("graph_permissions", PageId.GRAPH_PERMISSIONS, WizardState(
        draft=replace(microsoft, provider=ProviderKind.GRAPH, auth=AuthMode.CLIENT_SECRET),
        enterprise_object_id=DEMO_OBJECT))

    await shot_m365_setup(shot, WizardState(draft=replace(microsoft, provider=ProviderKind.GRAPH),
                                            m365_setup_mode="graph-app"))

    window = MailwrightWizard(dns_nameserver=nameserver)
    window.resize(*SCREENSHOT_SIZE)
    window.sender_page.detect_options = {"nameserver": nameserver, "timeout_s": 3.0, "probe_ports": (),
                                         "connect_to": {(host, 443): ("127.0.0.1", 9) for host in (
                                             "example.com", "autoconfig.example.com")}}
    await shot(window, "welcome")
    window.next()
    for name, value in {"senderAddress": DEMO_USER, "senderDisplayName": "Example Support"}.items():
        window.sender_page.findChild(QLineEdit, name).setText(value)
    detected = wait_signal(window.sender_page.detection_finished)
    window.sender_page.detect_button.click()
    await detected
    await window.wait_idle()
    await shot(window, "sender")
    window.next()
    await shot(window, "provider")
    window.provider_page.buttons[ProviderKind.SMTP].setChecked(True)
    window.next()
    page = window.smtp_page
    fields: dict[str, str] = {"host": "localhost", "password": "wrong password", "caFile": ca_file}
    for name, value in fields.items():
        edit = page.findChild(QLineEdit, name)
        assert edit is not None, name
        edit.setText(value)
    port_edit = page.findChild(QLineEdit, "port")
    port_edit.setText(str(port))
    await shot(window, "smtp")

    finished = wait_signal(window.check_page.check_finished)
    window.next()
    await finished
    await window.wait_idle()
    await shot(window, "check-failed")

    window.back()
    password = page.findChild(QLineEdit, "password")
    password.setText(DEMO_PASSWORD)
    finished = wait_signal(window.check_page.check_finished)
    window.next()
    await finished
    await window.wait_idle()
    await shot(window, "check")

    window.check_page.open_send_test()
    dialog = window.check_page.send_test_dialog
    assert dialog is not None
    to = dialog.findChild(QLineEdit, "testTo")
    to.setText("admin@example.net")
    sent = wait_signal(dialog.send_finished)
    dialog.send_button.click()
    await sent
    await window.wait_idle()
    await shot(dialog, "send-test")
    dialog.close()

    window.next()
    await shot(window, "sender_settings")
    window.next()
    await shot(window, "delivery")
    dns_checked = wait_signal(window.dns_page.check_finished)
    window.next()
    await dns_checked
    await window.wait_idle()
    await shot(window, "dns")
    window.next()
    window.test_mail_page.findChild(QLineEdit, "testTo").setText("admin@example.net")
    sent = wait_signal(window.test_mail_page.send_finished)
    window.test_mail_page.send_button.click()
    await sent
    await window.wait_idle()
    await shot(window, "test_mail")
    window.next()
    await shot(window, "summary")
    window.close()
    await shot_main_window(shot)
    return written


async def shot_m365_setup(shot: Callable[[Any, str], Any], state: Any) -> None:
    """"Set it up for me" before the administrator signs in, and after a set-up: the page's own result path fed the
    steps and the outcome a real `set_up` reports (the tenant's sign-in is not something a screenshot can do, and
    nothing may reach the keyring here)."""
    from wizard.app import SCREENSHOT_SIZE
    from wizard.pages.ids import PageId
    from wizard.pages.wizard import MailwrightWizard, SavedAccounts
    from wizard.services import m365
    from wizard.services.check import CheckReport, Step, StepStatus
    from wizard.services.m365.record import Grant

    window = MailwrightWizard(SavedAccounts(state), start=PageId.M365_SETUP, autostart_check=False)
    window.resize(*SCREENSHOT_SIZE)
    await shot(window, "m365_setup")
    page = window.m365_setup_page
    steps = [("sign_in", "Signed in as admin@example.com."),
             ("tenant", "Tenant Contoso; example.com is verified."),
             ("certificate", "RSA 3072 key and certificate made (valid 12 months)."),
             ("application", "Registered \u201cMailwright default (support@example.com)\u201d."),
             ("grants", "Granted Microsoft Graph Mail.Send (application)."),
             ("profile", "Profile saved."), ("replication", "The app is known to the sign-in service."),
             ("check", "The check passed.")]
    for name, text in steps:
        page._on_step(name, text)
    registration = m365.Registration(
        "default", "graph-app", DEMO_TENANT, "Mailwright default (support@example.com)", DEMO_OBJECT, DEMO_CLIENT,
        "5f0c2d1e-8a4b-4c7d-9e21-3b6a0f9d8c47", DEMO_USER,
        grants=(Grant("Microsoft Graph Mail.Send (application)", "x"),),
        thumbprint="3F9A1C0B7E55D2A4C8E16B90F4D7A2C31E8B5D06", not_after="2027-12-02T02:00:00+00:00")

    async def done() -> m365.SetupResult:
        return m365.SetupResult(registration, state.profile(), CheckReport([Step("token", StepStatus.PASSED),
                                                                            Step("send", StepStatus.PASSED)]))
    await page._finish(done())
    await shot(window, "m365_setup-done")
    window.close()


async def shot_main_window(shot: Callable[[Any, str], Any]) -> None:
    """The main window for two saved accounts (settings only: the keyring is never touched) with some mail."""
    import time
    from email.message import EmailMessage

    from wizard.app import SCREENSHOT_SIZE
    from wizard.main_window import MainWindow
    from wizard.services.alerts import AlertDispatcher
    from wizard.services.app_services import Services
    from wizard.services.background_delivery import BackgroundDelivery
    from wizard.services.config import ConfigStore
    from wizard.services.health import DnsVerdict, DnsVerdictStore
    from wizard.services.model import AuthMode, Profile, ProviderKind, Security
    from wizard.services.outbox import Outbox
    from wizard.services.service_status import ServiceStatus

    store = ConfigStore()
    store.save_profile(Profile(name="support", from_address=DEMO_USER, display_name="Example Support",
                               host="smtp.example.com", port=587, security=Security.STARTTLS, username=DEMO_USER))
    expires = time.strftime("%Y-%m-%d", time.localtime(time.time() + 9 * 86400))  # shows the expiry warning
    store.save_profile(Profile(name="alerts", provider=ProviderKind.M365_SMTP, from_address="alerts@example.com",
                               host="smtp.office365.com", port=587, security=Security.STARTTLS,
                               auth=AuthMode.CLIENT_SECRET, tenant=DEMO_TENANT, client_id=DEMO_CLIENT,
                               client_secret_expires=expires))
    outbox = Outbox()
    for number in range(5):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = DEMO_USER, "customer@example.net", f"Receipt {number}"
        message.set_content("Thank you for your order.")
        queued = outbox.enqueue(message, profile="support")
        if number < 4:
            claimed = outbox.claim("support")
            assert claimed is not None and claimed.id == queued.id
            outbox.mark_sent(claimed.id, f"250 2.0.0 Ok: queued as 4F2A9D{number:04d}", {})
    DnsVerdictStore(store.home / "dns-verdicts.json").record(
        DnsVerdict("example.com", False, "3 problems, 2 warnings", time.time()))
    delivery = BackgroundDelivery(outbox, store.load)  # never started: a screenshot sends nothing

    async def demo_service() -> ServiceStatus:  # this machine has no systemd to ask
        return ServiceStatus(True, installed=True, active="active", state="running", pid=812,
                             status_text="Delivering mail; relay on 127.0.0.1:2525")

    quiet = AlertDispatcher(outbox, store.load, enabled=False)
    window = MainWindow(Services(store.home, store, outbox), delivery, quiet,
                        service_status=demo_service)
    window.resize(*SCREENSHOT_SIZE)
    try:
        await window.refresh()
        await window.service_panel.refresh()
        await shot(window, "main")
        await shot_outbox(window, outbox, shot)
    finally:
        await window.shutdown()
        window.close()


async def shot_outbox(window: Any, outbox: Any, shot: Callable[[Any, str], Any]) -> None:
    """The Outbox window with sent, queued, failed and held mail; the failed message selected (its details)."""
    from email.message import EmailMessage

    def queue(to: str, subject: str, priority: int = 3) -> int:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = f"Example Support <{DEMO_USER}>", to, subject
        message.set_content("Your order has shipped.")
        return int(outbox.enqueue(message, profile="support", priority=priority).id)

    failed = queue("nobody@example.net", "Your order has shipped", priority=1)  # claimed before the queued one
    claimed = outbox.claim("support")
    assert claimed is not None and claimed.id == failed
    outbox.mark_failed(failed, "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown in "
                       "virtual mailbox table", "recipient_rejected")
    queue("billing@example.org", "Invoice 2026-0412")
    held = outbox.enqueue(b"From: alerts@example.com\r\nTo: ops@example.com\r\nSubject: Disk almost full\r\n\r\n"
                          b"92 %\r\n", profile="alerts", envelope_from="alerts@example.com",
                          recipients=["ops@example.com"])
    outbox.hold_profile("alerts", "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria "
                        "to be authenticated successfully", "auth_failed")
    assert outbox.get(held.id).state.value == "held"
    dialog = window.open_outbox()
    dialog.resize(1100, 600)
    await dialog.refresh()
    row = dialog.model.row_of(failed)
    assert row is not None
    dialog.table.selectRow(row)
    await shot(dialog, "outbox")
    dialog.close()


def dark_palette() -> Any:
    """A dark palette like the ones desktops hand Qt in dark mode (window #2b2b2b, text #e6e6e6)."""
    from PySide6.QtGui import QColor, QPalette

    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1e1e1e", QPalette.ColorRole.AlternateBase: "#333333",
        QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#3a3a3a",
        QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.ToolTipBase: "#3a3a3a",
        QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.PlaceholderText: "#9a9a9a",
        QPalette.ColorRole.Highlight: "#2f65ca", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#8ab4f8", QPalette.ColorRole.Light: "#505050",
        QPalette.ColorRole.Midlight: "#444444", QPalette.ColorRole.Mid: "#333333",
        QPalette.ColorRole.Dark: "#1a1a1a", QPalette.ColorRole.Shadow: "#000000",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return palette


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Render every page to PNG files.")
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--dark", action="store_true", help="render with a dark palette")
    parser.add_argument("--scale", type=float, default=1.0, help="scale factor, e.g. 1.5 for 150 %%")
    args = parser.parse_args(argv)
    out: Path = args.out
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = f"{args.scale:g}"  # read when the QApplication is created
    if not (os.environ.get("QT_QPA_PLATFORM") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    sys.path.insert(0, str(ROOT))
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's deprecation chatter
    with tempfile.TemporaryDirectory(prefix="mailwright-shots-") as home:
        os.environ["MAILWRIGHT_HOME"] = home  # never the real settings, never saved
        ca = trustme.CA()
        ca_file = str(Path(home) / "example-ca.pem")
        ca.cert_pem.write_to_path(ca_file)
        controller = start_server(ca)
        from tests.dns.server import dns_server

        try:
            import qasync

            from wizard.app import application

            app = application()
            app.setQuitOnLastWindowClosed(False)  # the wizard closes before the main window opens
            if args.dark:
                app.setStyle("Fusion")
                app.setPalette(dark_palette())
            run: Callable[..., list[Path]] = qasync.run
            with dns_server(DEMO_ZONE) as (nameserver, _resolver):
                written = run(render_all(out, int(controller.port), ca_file, nameserver))
        finally:
            controller.stop()
    for path in written:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
