"""The headless twins: config get/set, send into the outbox, queue list/retry/delete."""

from __future__ import annotations

import json

import pytest

from wizard.cli import main
from wizard.services.config import ConfigStore
from wizard.services.model import Profile


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip().startswith("{") else {}


def test_config_set_is_validated_and_keeps_comments(capsys: pytest.CaptureFixture[str]) -> None:
    store = ConfigStore()
    store.path.write_text("# my notes\n[delivery]\nenabled = true\n")
    assert _run(capsys, "config", "set", "delivery.retry_backoff_initial_s", "1", "--json")[0] == 0
    assert _run(capsys, "config", "get", "delivery.retry_backoff_initial_s", "--json")[1]["value"] == 1
    assert "# my notes" in store.path.read_text()
    code, payload = _run(capsys, "config", "set", "delivery.send_interval_ms", "-5", "--json")
    assert code == 2 and "delivery.send_interval_ms" in json.dumps(payload)


def test_send_queues_and_queue_commands_steer_it(capsys: pytest.CaptureFixture[str]) -> None:
    ConfigStore().save_profile(Profile(name="main", from_address="app@example.com", host="127.0.0.1", priority=2))
    code, sent = _run(capsys, "send", "--to", "bob@example.net", "--subject", "Hi", "--body", "x",
                      "--priority", "4", "--json")
    assert code == 0 and sent["priority"] == 2 and sent["state"] == "queued"
    listed = _run(capsys, "queue", "list", "--json")[1]["messages"]
    assert isinstance(listed, list) and listed[0]["message_id"] == sent["message_id"]
    assert _run(capsys, "queue", "delete", str(sent["id"]), "--json")[0] == 0
    assert _run(capsys, "queue", "show", str(sent["id"]), "--json")[0] == 1


def test_queue_list_and_status_show_a_paused_profile_until_released(capsys: pytest.CaptureFixture[str]) -> None:
    from wizard.services.outbox import Outbox

    outbox = Outbox()
    stored = outbox.enqueue(b"Subject: x\r\n\r\nbody\r\n", profile="main", envelope_from="app@example.com",
                            recipients=["bob@example.net"])
    outbox.hold_profile("main", "535 5.7.8 Authentication credentials invalid", "auth_failed")
    outbox.pause_profile("main", "535 5.7.8 Authentication credentials invalid", "auth_failed")
    listed = _run(capsys, "queue", "list", "--json")[1]
    assert listed["paused"] == [{"profile": "main", "diagnosis_code": "auth_failed",
                                 "reply": "535 5.7.8 Authentication credentials invalid",
                                 "since": listed["paused"][0]["since"]}]  # type: ignore[index]
    status = _run(capsys, "queue", "status", "--json")[1]
    assert status["counts"] == {"held": 1} and status["paused"][0]["profile"] == "main"  # type: ignore[index]
    assert main(["queue", "status"]) == 0
    assert "profile main is paused (auth_failed)" in capsys.readouterr().out
    assert _run(capsys, "queue", "release", "main", "--json")[1]["released"] == 1
    assert _run(capsys, "queue", "status", "--json")[1]["paused"] == []
    assert outbox.get(stored.id).state.value == "queued"


def test_mail_of_a_deleted_profile_is_reported_as_orphaned_until_deleted_or_its_profile_returns(
        capsys: pytest.CaptureFixture[str]) -> None:
    from wizard.services.outbox import MessageState, Outbox, Outcome

    store = ConfigStore()
    for name in ("main", "gone"):
        store.save_profile(Profile(name=name, from_address="app@example.com", host="127.0.0.1"))
    outbox = Outbox()

    def enqueue(profile: str) -> int:
        return outbox.enqueue(b"Subject: x\r\n\r\nbody\r\n", profile=profile, envelope_from="app@example.com",
                              recipients=["bob@example.net"]).id

    kept, sent = enqueue("main"), enqueue("gone")
    assert outbox.claim_batch("gone")[0].id == sent
    outbox.record([Outcome(sent, MessageState.SENT, "250 ok")])
    enqueue("gone")
    enqueue("gone")
    outbox.hold_profile("gone", "535 5.7.8 bad", "auth_failed")  # one queued message held: held ones count too
    enqueue("gone")
    assert _run(capsys, "queue", "status", "--json")[1]["orphaned"] == []
    store.remove_profile("gone")
    assert _run(capsys, "queue", "status", "--json")[1]["orphaned"] == [{"profile": "gone", "count": 3}]
    assert _run(capsys, "queue", "list", "--json")[1]["orphaned"] == [{"profile": "gone", "count": 3}]
    assert main(["queue", "status"]) == 0
    text = capsys.readouterr().out
    assert "3 messages of the deleted profile 'gone' will not be sent: re-create the profile" in text
    assert "`mailwright queue delete --profile gone`" in text

    store.save_profile(Profile(name="gone", from_address="app@example.com", host="127.0.0.1"))
    assert _run(capsys, "queue", "status", "--json")[1]["orphaned"] == []
    store.remove_profile("gone")
    assert _run(capsys, "queue", "delete", "--profile", "gone", "--json")[1] == {"ok": True, "deleted": 3}
    assert _run(capsys, "queue", "status", "--json")[1]["orphaned"] == []
    assert {m.id for m in outbox.messages()} == {kept, sent}
    assert main(["queue", "delete"]) == 2
    assert "needs a message id (or --profile NAME)" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_queue_status_names_mail_waiting_for_a_retry_with_the_reason_and_the_fix(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A server that refuses connections is no paused account, but `queue status` must not look all well either."""
    import socket

    from wizard.services import diagnostics
    from wizard.services.model import Security
    from wizard.services.outbox import Outbox
    from wizard.services.sender import Sender
    from wizard.services.sender_state import SenderState

    with socket.socket() as probe:  # a port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = ConfigStore()
    store.save_profile(Profile(name="main", from_address="app@example.com", host="127.0.0.1", port=port,
                               security=Security.NONE, allow_plaintext_loopback=True))
    outbox = Outbox()
    outbox.enqueue(b"Subject: x\r\n\r\nbody\r\n", profile="main", envelope_from="app@example.com",
                   recipients=["bob@example.net"])
    await Sender(outbox, store.load).drain()

    status = _run(capsys, "queue", "status", "--json")[1]
    [retrying] = status["retrying"]  # type: ignore[misc]
    fix = diagnostics.make("connect_failed").fix
    assert retrying["profile"] == "main" and retrying["count"] == 1 and retrying["diagnosis_code"] == "connect_failed"
    assert retrying["fix"] == fix and str(port) in retrying["reply"]
    assert main(["queue", "status"]) == 0
    out = capsys.readouterr().out
    assert "profile main: 1 message waiting to be retried (tried 1 time): " in out and fix in out
    assert SenderState(running=True, pid=1).lines(mail_retrying=True) == ["Sender: running (pid 1)"]
    assert SenderState(running=True, pid=1).lines() == ["Sender: running (pid 1), no problems"]
