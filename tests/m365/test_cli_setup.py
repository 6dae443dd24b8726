"""`mailwright m365 setup|show` as a user runs them: a subprocess, the browser replaced through $BROWSER."""

from __future__ import annotations

import pytest

from tests.fixtures.cli import as_json, mailwright
from tests.m365.conftest import SENDER, Tenant
from wizard.services.config import ConfigStore

pytestmark = [pytest.mark.keyring]


def _setup(tenant: Tenant, name: str, *extra: str) -> list[str]:
    return ["m365", "setup", name, "--from", SENDER, "--authority", tenant.idp.url, "--graph-endpoint",
            tenant.graph.url, "--ca-file", tenant.ca_file, *extra]


def test_setup_prints_each_step_and_exits_0_after_a_passed_check(tenant: Tenant, profile_name: str) -> None:
    result = mailwright(*_setup(tenant, profile_name, "--mode", "graph-app"))

    assert result.returncode == 0, result.stderr + result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Waiting for the administrator to sign in in the browser")
    assert any("verified" in line for line in lines)
    assert any(line.startswith("Not ready yet") or "Not ready yet" in line for line in lines)  # replication
    assert "The check passed." in lines and lines[-1] == "Done: the profile is saved and its check passed."
    shown = as_json(mailwright("m365", "show", profile_name, "--json"))
    assert shown["ok"] and shown["registration"]["app_id"] == tenant.directory.only_application()["appId"]
    assert shown["rotation_due"] is False
    check = mailwright("check", "--profile", profile_name)
    assert check.returncode == 0, check.stdout + check.stderr


def test_setup_json_names_the_grants_and_the_certificate(tenant: Tenant, profile_name: str) -> None:
    payload = as_json(mailwright(*_setup(tenant, profile_name, "--mode", "graph-app", "--cert-months", "24",
                                         "--json")))

    assert payload["ok"] and payload["check"]["ok"]
    registration = payload["registration"]
    assert [g["permission"] for g in registration["grants"]] == ["Microsoft Graph Mail.Send (application)"]
    assert registration["not_after"][:4] >= "2028"


@pytest.mark.parametrize(("args", "message"), [
    (["--mode", "graph-app", "--cert-months", "25"], "--cert-months is 1 to 24"),
    (["--mode", "graph-app", "--authority", "http://login.example"], "--authority must be an https URL"),
    (["--mode", "mail"], "invalid choice"),
])
def test_bad_input_exits_2_before_anyone_signs_in(tenant: Tenant, profile_name: str, args: list[str],
                                                  message: str) -> None:
    result = mailwright(*_setup(tenant, profile_name, *args))

    assert result.returncode == 2 and message in result.stderr
    assert tenant.idp.authorize_requests == []


def test_show_without_a_setup_says_so(profile_name: str) -> None:
    result = mailwright("m365", "show", profile_name)

    assert result.returncode == 1 and "was not set up by Mailwright" in result.stderr


def test_cli_rotate_and_teardown_keep_profile(tenant: Tenant, profile_name: str) -> None:
    setup = mailwright("m365", "setup", profile_name, "--from", "app@example.com", "--mode", "graph-app",
                       "--authority", tenant.idp.url, "--graph-endpoint", tenant.graph.url, "--ca-file",
                       tenant.ca_file)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    tenant.directory.replication_delay = 0
    first = tenant.directory.only_application()["keyCredentials"][0]["keyId"]

    rotated = as_json(mailwright("m365", "rotate", profile_name, "--json"))
    assert rotated["ok"] and rotated["registration"]["key_id"] != first
    gone = mailwright("m365", "teardown", profile_name, "--keep-profile")

    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "profile's settings were kept" in gone.stdout
    assert tenant.directory.applications == {} and profile_name in ConfigStore().load().profiles
