"""`mailwright profile set`: everything the wizard's pages edit, headless; `profile show` prints it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.cli import as_json, mailwright
from wizard.services import secrets
from wizard.services.config import ConfigStore
from wizard.services.model import AuthMode, Profile, ProviderKind, Security


def _saved(name: str) -> Profile:
    return ConfigStore().load().profile(name)


@pytest.fixture
def saved(profile_name: str) -> str:
    ConfigStore().save_profile(Profile(name=profile_name, from_address="app@example.com", host="smtp.example.com"))
    return profile_name


def test_sender_settings_and_policy_are_set_and_shown(saved: str) -> None:
    result = mailwright("profile", "set", saved, "--display-name", "Example Support", "--authorized-domain",
                        "Example.COM", "--authorized-domain", "news.example.org", "--authorized-sender",
                        "Robot@Other.net", "--unauthorized", "alert", "--postmaster", "postmaster@example.com",
                        "--force-postmaster", "--priority", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert sorted(as_json(result)["changed"]) == ["authorized_domains", "authorized_senders", "display_name",
                                                  "force_postmaster_sender", "postmaster", "priority",
                                                  "unauthorized_action"]
    profile = _saved(saved)
    assert (profile.display_name, profile.priority, profile.unauthorized_action) == ("Example Support", 2, "alert")
    assert profile.authorized_domains == ("example.com", "news.example.org")
    assert profile.authorized_senders == ("robot@other.net",)
    assert (profile.postmaster, profile.force_postmaster_sender) == ("postmaster@example.com", True)
    shown = mailwright("profile", "show", saved)
    assert "example.com, news.example.org" in shown.stdout and "Example Support" in shown.stdout
    assert as_json(mailwright("profile", "show", saved, "--json"))["profile"]["authorized_senders"] == [
        "robot@other.net"]


def test_lists_grow_until_cleared_and_switches_turn_off(saved: str) -> None:
    assert mailwright("profile", "set", saved, "--authorized-domain", "example.com", "--postmaster",
                      "pm@example.com", "--force-postmaster").returncode == 0
    assert mailwright("profile", "set", saved, "--authorized-sender", "a@example.net").returncode == 0
    profile = _saved(saved)
    assert (profile.authorized_domains, profile.authorized_senders) == (("example.com",), ("a@example.net",))
    assert mailwright("profile", "set", saved, "--clear-authorized", "--authorized-sender", "b@example.net",
                      "--no-force-postmaster", "--display-name", "").returncode == 0
    profile = _saved(saved)
    assert (profile.authorized_domains, profile.authorized_senders) == ((), ("b@example.net",))
    assert not profile.force_postmaster_sender and profile.postmaster == "pm@example.com"
    assert profile.display_name == ""


@pytest.mark.parametrize(("argv", "complaint"), [
    (["--authorized-domain", "*.example.com"], "without '*.'"),
    (["--authorized-domain", "a@example.com"], "authorised senders instead"),
    (["--authorized-sender", "not-an-address"], "not a valid e-mail address"),
    (["--force-postmaster"], "needs a postmaster address"),
    (["--postmaster", "nope"], "not a valid e-mail address"),
    (["--display-name", "Evil\nBcc: x@example.net"], "single line"),
    (["--port", "0"], "Port must be"),
    (["--fallback", "nobody"], "not a configured profile"),
    ([], "Nothing to change"),
])
def test_bad_values_are_refused_with_exit_2_and_nothing_changes(saved: str, argv: list[str], complaint: str) -> None:
    before = ConfigStore().path.read_text()
    result = mailwright("profile", "set", saved, *argv)
    assert result.returncode == 2 and complaint in result.stderr
    assert "Traceback" not in result.stderr
    assert ConfigStore().path.read_text() == before


def test_an_unknown_profile_is_bad_input() -> None:
    result = mailwright("profile", "set", "nobody", "--priority", "1", "--json")
    assert result.returncode == 2 and "no profile named 'nobody'" in as_json(result)["diagnosis"]["explanation"]


def test_connection_settings_and_a_new_password_from_stdin_only(saved: str, ca_file: str) -> None:
    result = mailwright("profile", "set", saved, "--host", "mail.example.net", "--port", "465", "--security", "tls",
                        "--username", "app@example.com", "--ca-file", ca_file, "--password-stdin",
                        stdin="n3w secret\n")
    assert result.returncode == 0, result.stderr
    profile = _saved(saved)
    assert (profile.host, profile.port, profile.security, profile.ca_file) == ("mail.example.net", 465,
                                                                               Security.TLS, ca_file)
    assert secrets.load_secret(saved, secrets.SecretKind.PASSWORD) == "n3w secret"
    assert "n3w secret" not in ConfigStore().path.read_text()
    secrets.delete_profile_secrets(saved)


def test_microsoft_settings_and_a_client_secret(saved: str) -> None:
    result = mailwright("profile", "set", saved, "--provider", "graph", "--auth", "client-secret", "--tenant",
                        "contoso.onmicrosoft.com", "--client-id", "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
                        "--graph-endpoint", "https://graph.example.test", "--no-save-to-sent-items",
                        "--client-secret-stdin", stdin="s3cret-value\n")
    assert result.returncode == 0, result.stderr
    profile = _saved(saved)
    assert (profile.provider, profile.auth, profile.save_to_sent_items) == (ProviderKind.GRAPH,
                                                                            AuthMode.CLIENT_SECRET, False)
    assert secrets.load_secret(saved, secrets.SecretKind.CLIENT_SECRET) == "s3cret-value"
    secrets.delete_profile_secrets(saved)


def test_every_option_of_profile_set_has_help() -> None:
    result = subprocess.run([sys.executable, "-m", "wizard", "profile", "set", "--help"], capture_output=True,
                            text=True, timeout=60, check=True)
    from wizard.cli import build_parser

    parser = build_parser(("profile",))
    profile_actions = next(a for a in parser._subparsers._group_actions  # type: ignore[union-attr]
                           if a.dest == "command").choices["profile"]
    set_parser = next(a for a in profile_actions._subparsers._group_actions).choices["set"]  # type: ignore[union-attr]
    undocumented = [a.option_strings or a.dest for a in set_parser._actions if not a.help]
    assert undocumented == []
    for option in ("--authorized-domain", "--clear-authorized", "--unauthorized", "--force-postmaster",
                   "--no-force-postmaster", "--priority", "--password-stdin"):
        assert option in result.stdout


def test_the_wizard_and_profile_set_store_the_same_settings(saved: str, tmp_path: Path) -> None:
    """What the sender settings page stores for typed values is what `profile set` stores for the same text."""
    from wizard.services.policy import normalise_authorized_domain, normalise_authorized_sender

    assert mailwright("profile", "set", saved, "--authorized-domain", " @News.Example.ORG. ",
                      "--authorized-sender", "Robot@Example.NET").returncode == 0
    profile = _saved(saved)
    assert profile.authorized_domains == (normalise_authorized_domain(" @News.Example.ORG. "),)
    assert profile.authorized_senders == (normalise_authorized_sender("Robot@Example.NET"),)
    assert json.loads(mailwright("profile", "show", saved, "--json").stdout)["ok"]
