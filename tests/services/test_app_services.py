"""The composition root: one services object per running Mailwright, no state kept in module globals."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import wizard
from tests.fixtures.smtp_servers import GOOD_PASSWORD, GOOD_USER, SmtpServerFactory
from wizard.services import oauth
from wizard.services.app_services import Services
from wizard.services.model import AuthMode, Profile, ProviderKind, Security
from wizard.services.secret_source import DraftSecrets

SERVICES = Path(wizard.__file__).parent / "services"
_MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "deque", "OrderedDict", "Counter", "WeakKeyDictionary",
                  "WeakValueDictionary", "WeakSet"}
# A lock guards the token cache files against two threads of one process; it holds no data.
_ALLOWED = {("oauth/token_store.py", "_lock")}


def _module_state(path: Path) -> list[str]:
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        literal = isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp)
        called = isinstance(value, ast.Call) and (getattr(value.func, "id", None) in _MUTABLE_CALLS
                                                   or getattr(value.func, "attr", None) in _MUTABLE_CALLS)
        for target in targets:
            name = target.id if isinstance(target, ast.Name) else ""
            constant = name == "__all__" or name.lstrip("_").isupper()  # UPPER_CASE tables are constants
            if name and not constant and (literal or called):
                found.append(name)
    return found


def test_no_services_module_keeps_mutable_state_in_a_module_global() -> None:
    offenders = [f"{path.relative_to(SERVICES)}: {name}" for path in sorted(SERVICES.rglob("*.py"))
                 for name in _module_state(path) if (str(path.relative_to(SERVICES)), name) not in _ALLOWED]
    assert offenders == []
    rebinding = [str(path.relative_to(SERVICES)) for path in SERVICES.rglob("*.py")
                 if any(isinstance(node, ast.Global) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))]
    assert rebinding == []


def test_the_check_finds_a_module_global_cache(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("_sessions: dict[str, object] = {}\nLIMITS = {'a': 1}\n_windows = dict()\n")
    assert _module_state(module) == ["_sessions", "_windows"]


def test_two_services_on_two_data_homes_share_no_sessions_or_limits(tmp_path: Path) -> None:
    first, second = Services.open(tmp_path / "a"), Services.open(tmp_path / "b")
    assert first.tokens is first.tokens and first.graph_limits is first.graph_limits
    assert first.tokens is not second.tokens and first.graph_limits is not second.graph_limits
    assert first.outbox.path != second.outbox.path and first.store.path.parent == tmp_path / "a"


def test_a_token_session_is_kept_while_the_profile_is_unchanged() -> None:
    tokens = oauth.TokenService()
    profile = Profile(name="m365", provider=ProviderKind.M365_SMTP, auth=AuthMode.OAUTH_INTERACTIVE,
                      client_id="0a1b2c3d-4e5f-6789-abcd-ef0123456789", tenant="contoso.com")
    session = tokens.microsoft(profile)
    assert tokens.microsoft(profile) is session
    assert tokens.microsoft(Profile(**{**profile.__dict__, "tenant": "fabrikam.com"})) is not session
    tokens.forget("m365")
    assert tokens.microsoft(profile) is not session
    assert oauth.TokenService().microsoft(profile) is not tokens.microsoft(profile)


@pytest.mark.asyncio
async def test_every_graph_transport_of_one_services_object_shares_its_limits(data_home: Path) -> None:
    services = Services.open()
    profile = Profile(name="graph", provider=ProviderKind.GRAPH, from_address="app@contoso.com",
                      auth=AuthMode.CLIENT_SECRET, client_id="0a1b2c3d-4e5f-6789-abcd-ef0123456789",
                      tenant="contoso.com", port=443)
    first, second = await services.transport_for(profile), await services.transport_for(profile)
    assert first.limits is second.limits is services.graph_limits  # type: ignore[attr-defined]
    other = await Services.open(data_home / "other").transport_for(profile)
    assert other.limits is not services.graph_limits  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_the_sender_of_a_services_object_signs_in_with_its_secret_source(
        smtp_server: SmtpServerFactory, data_home: Path) -> None:
    sink = smtp_server("starttls")
    profile = Profile(name="main", from_address=GOOD_USER, host=sink.host, port=sink.port, security=Security.STARTTLS,
                      username=GOOD_USER, ca_file=sink.ca_file)
    services = Services.open()
    services.store.save_profile(profile)  # settings only: the keyring holds no password for it
    services.outbox.enqueue(b"From: app@example.com\r\nTo: bob@example.net\r\nSubject: x\r\n\r\nhi\r\n",
                            profile="main", recipients=["bob@example.net"])
    await services.sender().drain()  # the keyring's answer: no password, nothing sent, the mail held
    assert sink.messages == []
    assert [m.state.value for m in services.outbox.messages()] == ["held"]
    given = Services.open(secrets=DraftSecrets(password=GOOD_PASSWORD))
    assert given.outbox.release("main") == 1  # held after the failed sign-in; the account is fixed now
    assert await given.sender().drain() == 1
    assert [m.rcpt_tos for m in sink.messages] == [["bob@example.net"]]
