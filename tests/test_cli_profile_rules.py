"""`profile add` refuses what the wizard refuses and says what to do next; `send` says when nothing sends
(issue 14 items 3, 5 and 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.cli import as_json, mailwright
from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SmtpServerFactory
from wizard.services.config import data_home as current_data_home
from wizard.services.outbox import Outbox
from wizard.services.sender_lock import SenderLock

pytestmark = pytest.mark.keyring

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
SMTP = ["--from", "app@example.com", "--host", "smtp.example.com"]


@pytest.mark.parametrize(("argv", "message"), [
    ([*SMTP, "--port", "0"], "mailwright: --port 0: Port must be a whole number from 1 to 65535."),
    (["--provider", "m365-smtp", "--from", "app@contoso.com"],
     "mailwright: --tenant: A Microsoft 365 profile needs the app registration's Directory (tenant) ID. "
     "--client-id: A Microsoft 365 profile needs the app registration's Application (client) ID."),
    (["--provider", "graph", "--from", "app@contoso.com", "--tenant", TENANT, "--client-id", "not-a-guid"],
     "mailwright: --client-id: 'not-a-guid': The Application (client) ID is a GUID like "
     "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d (Overview page)."),
    (["--provider", "m365-smtp", "--from", "app@contoso.com", "--tenant", "not a tenant", "--client-id", CLIENT],
     "mailwright: --tenant: 'not a tenant': The tenant is the Directory (tenant) ID (a GUID like 72f988bf-...) or "
     "a verified domain (contoso.com)."),
    ([*SMTP, "--ca-file", "/nonexistent/ca.pem"], "mailwright: --ca-file: The CA file /nonexistent/ca.pem does not "
     "exist."),
    (["--from", "app@example.com", "--preset", "ses"],
     "mailwright: --preset ses needs --host: the server name depends on your account "
     "(email-smtp.{region}.amazonaws.com)."),
])
def test_profile_add_refuses_what_the_pages_refuse(argv: list[str], message: str, data_home: Path) -> None:
    result = mailwright("profile", "add", "p", *argv)
    assert result.returncode == 2, result.stdout
    assert result.stderr.strip() == message
    assert not (data_home / "config.toml").exists()


@pytest.mark.parametrize("content", [b"not a certificate\n", b"\x30\x82\x01\x0a" + bytes(200)], ids=["text", "der"])
def test_a_ca_file_that_is_not_pem_is_refused(content: bytes, tmp_path: Path, data_home: Path) -> None:
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(content)
    result = mailwright("profile", "add", "p", *SMTP, "--ca-file", str(ca_file))
    assert result.returncode == 2
    assert result.stderr.startswith(f"mailwright: --ca-file: The CA file {ca_file} holds no PEM certificate")


def test_an_unreadable_ca_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ca-folder.pem"
    folder.mkdir()
    result = mailwright("profile", "add", "p", *SMTP, "--ca-file", str(folder))
    assert result.returncode == 2
    assert result.stderr.strip() == f"mailwright: --ca-file: The CA file {folder} is not a file."


def test_a_gmail_password_that_is_not_an_app_password_warns(profile_name: str) -> None:
    result = mailwright("profile", "add", profile_name, "--provider", "gmail", "--from", "someone@gmail.com",
                        "--password-stdin", stdin="MyNormalPassw0rd\n")
    assert result.returncode == 0, result.stderr
    assert "Warning: Gmail accepts an app password here: 16 letters" in result.stderr
    quiet = mailwright("profile", "add", profile_name, "--provider", "gmail", "--from", "someone@gmail.com",
                       "--password-stdin", stdin="abcd efgh ijkl mnop\n")
    assert quiet.returncode == 0 and "Warning" not in quiet.stderr
    mailwright("profile", "remove", profile_name, "--force")


def test_profile_add_ends_with_the_check_to_run(profile_name: str) -> None:
    result = mailwright("profile", "add", profile_name, *SMTP)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == (f"Next: run `mailwright check --profile {profile_name}` to prove it "
                                              "can sign in and send.")
    assert as_json(mailwright("profile", "add", profile_name, *SMTP, "--json"))["next"] == \
        f"mailwright check --profile {profile_name}"


def test_profile_add_check_runs_the_check(smtp_server: SmtpServerFactory, profile_name: str) -> None:
    server = smtp_server("starttls")
    result = mailwright("profile", "add", profile_name, "--host", "localhost", "--port", str(server.port),
                        "--username", GOOD_USER, "--from", GOOD_USER, "--ca-file", server.ca_file, "--password-stdin",
                        "--check", stdin=GOOD_PASSWORD + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Saved profile '{profile_name}'" in result.stdout
    assert "All steps passed: this profile can send mail." in result.stdout
    mailwright("profile", "remove", profile_name)


def test_profile_list_columns_fit_long_names() -> None:
    long_name = "billing-notifications-for-the-european-subsidiary"
    for name, address in ((long_name, "billing-notifications@very-long-subsidiary-domain.example"),
                          ("a", "a@example.com")):
        assert mailwright("profile", "add", name, "--from", address, "--host", "smtp.example.com").returncode == 0
    lines = mailwright("profile", "list").stdout.splitlines()
    assert lines[0].split() == ["NAME", "PROVIDER", "FROM", "SERVER"]
    starts = [line.index("smtp.example.com:587") for line in lines[1:3]]
    assert starts[0] == starts[1] == lines[0].index("SERVER")  # one column, whatever the name's length
    assert lines[1].split()[:2] == ["*", long_name]


def test_profile_remove_with_queued_mail_asks_for_force(profile_name: str) -> None:
    assert mailwright("profile", "add", profile_name, *SMTP).returncode == 0
    queued = mailwright("send", "--profile", profile_name, "--to", "a@example.org", "--body", "x")
    assert queued.returncode == 0
    refused = mailwright("profile", "remove", profile_name)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"mailwright: Profile '{profile_name}' still has 1 message waiting in the "
                                     "outbox: once the profile is gone nothing sends it.")
    assert f"mailwright profile remove {profile_name} --force" in refused.stderr
    assert profile_name in as_json(mailwright("profile", "list", "--json"))["profiles"][0]["name"]
    removed = mailwright("profile", "remove", profile_name, "--force")
    assert removed.returncode == 0
    assert f"1 message of '{profile_name}' stay in the outbox unsent" in removed.stdout


def test_send_says_when_nothing_is_sending(profile_name: str) -> None:
    assert mailwright("profile", "add", profile_name, *SMTP).returncode == 0
    result = mailwright("send", "--to", "a@example.org", "--body", "x")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == ("queued; nothing is sending right now — start Mailwright or "
                                              "`mailwright serve`")
    lock = SenderLock.for_outbox(Outbox(current_data_home() / "outbox.sqlite3").path)
    assert lock.try_acquire()  # a sender (this test process) holds the outbox now
    try:
        held = mailwright("send", "--to", "a@example.org", "--body", "x", "--json")
        assert as_json(held)["sending"] is True
        assert "nothing is sending" not in mailwright("send", "--to", "a@example.org", "--body", "x").stdout
    finally:
        lock.release()


def test_profile_set_checks_the_same_rules_and_ends_with_the_check(profile_name: str) -> None:
    added = mailwright("profile", "add", profile_name, "--provider", "m365-smtp", "--from", "app@contoso.com",
                       "--tenant", TENANT, "--client-id", CLIENT)
    assert added.returncode == 0, added.stderr
    refused = mailwright("profile", "set", profile_name, "--client-id", "not-a-guid")
    assert refused.returncode == 2
    assert refused.stderr.startswith("mailwright: --client-id: 'not-a-guid': The Application (client) ID is a GUID")
    changed = mailwright("profile", "set", profile_name, "--display-name", "Billing")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.splitlines()[-1] == (f"Next: run `mailwright check --profile {profile_name}` to prove it "
                                               "can sign in and send.")
    mailwright("profile", "remove", profile_name)
