"""The CLI's composition root: each command builds one Services for its invocation (wizard.commands.output
.open_services) and uses its store, its outbox and its token sessions; none builds its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import wizard
from tests.fixtures.cli import as_json, mailwright
from wizard.services import secrets
from wizard.services.app_services import Services
from wizard.services.config import ConfigStore
from wizard.services.model import AuthMode, Profile, ProviderKind
from wizard.services.outbox import OUTBOX_FILE

COMMANDS = Path(wizard.__file__).parent / "commands"
ROOT_OWNED = {"ConfigStore", "Outbox", "Services", "TokenService", "GraphLimits", "AlertDispatcher"}
ALLOWED = {
    # the one way a command gets its services
    ("output.py", "open_services", "Services"),
    # send and serve open theirs eagerly: serve waits for an outbox another program holds locked, send queues
    ("send.py", "run", "Services"),
    ("serve.py", "run", "Services"),
    # serve reads [service] metrics before its services exist: it decides which outbox class they open
    ("serve.py", "_configured_metrics", "ConfigStore"),
    # not yet moved (the Microsoft 365 commands are being reworked separately)
    ("m365.py", "run_setup", "ConfigStore"),
}


def _built_in(path: Path) -> set[tuple[str, str, str]]:
    """(file, outermost function, class) for each call that builds one of ROOT_OWNED."""
    found: set[tuple[str, str, str]] = set()
    for top in ast.parse(path.read_text(encoding="utf-8")).body:
        scope = getattr(top, "name", "")
        for node in ast.walk(top):
            if isinstance(node, ast.Call):
                function = node.func
                if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
                    function = function.value  # Services.open(...)
                if isinstance(function, ast.Name) and function.id in ROOT_OWNED:
                    found.add((path.name, scope, function.id))
    return found


def test_no_command_builds_its_own_store_outbox_or_token_service() -> None:
    built = set().union(*(_built_in(path) for path in COMMANDS.glob("*.py")))
    assert ("output.py", "open_services", "Services") in built  # the scan sees what it looks for
    assert built - ALLOWED == set()


def test_the_scan_sees_a_command_building_its_own(tmp_path: Path) -> None:
    command = tmp_path / "probe.py"
    command.write_text("def run(args):\n    def rows():\n        return Outbox().summaries()\n"
                       "    return ConfigStore().load(), TokenService(), rows()\n", encoding="utf-8")
    assert _built_in(command) == {("probe.py", "run", name) for name in ("Outbox", "ConfigStore", "TokenService")}


def test_a_command_s_services_open_the_outbox_only_when_it_is_used(tmp_path: Path) -> None:
    services = Services.open(tmp_path, outbox_when_used=True)
    assert services.outbox_path == tmp_path / OUTBOX_FILE and not services.outbox_path.exists()
    assert services.store.load().profiles == {}
    outbox = services.outbox
    assert outbox is services.outbox and outbox.path == tmp_path / OUTBOX_FILE and outbox.path.exists()


@pytest.mark.asyncio
async def test_the_token_sessions_are_given_only_for_an_oauth_profile(tmp_path: Path) -> None:
    services = Services.open(tmp_path, outbox_when_used=True)
    assert await services.tokens_for(Profile(name="pw", from_address="a@example.com", host="smtp.example.com")) is None
    oauth = Profile(name="m365", provider=ProviderKind.M365_SMTP, auth=AuthMode.OAUTH_INTERACTIVE,
                    client_id="0a1b2c3d-4e5f-6789-abcd-ef0123456789", tenant="contoso.com")
    assert await services.tokens_for(oauth) is services.tokens is await services.tokens_for(oauth)


@pytest.mark.keyring
def test_commands_that_do_not_need_the_outbox_leave_it_alone(data_home: Path, profile_name: str) -> None:
    """Settings and relay users are edited while another program may hold the outbox: they do not open it
    (`relay user list` reads its ledger from the file when there is one)."""
    user = f"{profile_name}-relay"
    try:
        added = mailwright("profile", "add", profile_name, "--from", "app@example.com", "--host", "smtp.example.com",
                           "--json")
        assert added.returncode == 0, added.stderr
        for command in (("profile", "list", "--json"), ("profile", "show", profile_name, "--json"),
                        ("profile", "set", profile_name, "--display-name", "Example Support", "--json"),
                        ("profile", "default", profile_name, "--json"),
                        ("config", "get", "delivery.enabled"),
                        ("relay", "user", "add", user, "--password-stdin", "--json"),
                        ("relay", "user", "list", "--json")):
            result = mailwright(*command, stdin="a relay password that is long enough\n")
            assert result.returncode == 0, (command, result.stdout, result.stderr)
        assert [u["name"] for u in as_json(result)["users"]] == [user]
        assert ConfigStore().load().profile(profile_name).display_name == "Example Support"
        assert not (data_home / OUTBOX_FILE).exists()
        status = mailwright("queue", "status", "--json")  # a command that needs it opens it
        assert status.returncode == 0, status.stderr
        assert (data_home / OUTBOX_FILE).exists()
    finally:
        secrets.delete_profile_secrets(profile_name)
        mailwright("relay", "user", "remove", user)
