"""Render every wizard page to docs/screenshots/*.png, driving the real flow against a local SMTP server.

    xvfb-run -a -s "-screen 0 1024x768x24" .venv/bin/python scripts/screenshots.py [OUTPUT_DIR]

Starts an aiosmtpd STARTTLS server on 127.0.0.1 with a throwaway trustme CA (the test extras),
fills the SMTP page, runs the real connection check (one failing, one passing), sends a test mail
and shows the summary. Nothing is saved: the data home is a temporary directory and the keyring
is never touched.
"""

from __future__ import annotations

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


async def render_all(out: Path, port: int, ca_file: str) -> list[Path]:
    from PySide6.QtWidgets import QLineEdit

    from wizard.app import SCREENSHOT_SIZE, grab
    from wizard.pages.wizard import MailwrightWizard, load_saved_accounts

    written: list[Path] = []

    async def shot(widget: Any, name: str) -> None:
        path = out / f"{name}.png"
        await grab(widget, path)
        written.append(path)

    window = MailwrightWizard(load_saved_accounts())
    window.resize(*SCREENSHOT_SIZE)
    await shot(window, "welcome")
    window.next()
    await shot(window, "provider")
    window.next()
    page = window.smtp_page
    fields: dict[str, str] = {"fromAddress": DEMO_USER, "displayName": "Example Support", "host": "localhost",
                              "password": "wrong password", "caFile": ca_file}
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
    await shot(window, "summary")
    window.close()
    return written


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "docs" / "screenshots"
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
        try:
            import qasync

            from wizard.app import application

            application()
            run: Callable[..., list[Path]] = qasync.run
            written = run(render_all(out, int(controller.port), ca_file))
        finally:
            controller.stop()
    for path in written:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
