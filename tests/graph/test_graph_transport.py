"""GraphTransport against the local HTTPS Graph endpoint: what arrives, and what each failure means."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.fixtures.graph_endpoint import GraphEndpoint
from tests.graph.support import APP_ID, MAILBOX, RecordingTokenSource, graph_profile, mime
from wizard.services import message as message_service
from wizard.services.model import AuthMode
from wizard.services.transports.base import Scope, TransportError
from wizard.services.transports.graph import GraphLimits, GraphTransport

pytestmark = pytest.mark.asyncio


def transport(endpoint: GraphEndpoint, ca_file: str, source: RecordingTokenSource, limits: GraphLimits | None = None,
              **changes: object) -> GraphTransport:
    return GraphTransport.for_profile(graph_profile(endpoint, ca_file, **changes), source.credential(),  # type: ignore[arg-type]
                                      limits)


async def send_one(endpoint: GraphEndpoint, ca_file: str, message: bytes, recipients: list[str],
                   source: RecordingTokenSource | None = None, sender: str = MAILBOX) -> None:
    async with transport(endpoint, ca_file, source or RecordingTokenSource([endpoint.issue_token()])) as graph:
        await graph.send(sender, recipients, message)


async def test_message_arrives_byte_for_byte_with_html_and_attachment(graph_endpoint: GraphEndpoint, ca_file: str,
                                                                      tmp_path: Path) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.7 fake report")
    mail = message_service.TestMail(from_address=MAILBOX, to=["ops@example.net"], body="Monthly report.",
                                    attachments=[report])
    message = message_service.build_test_message(mail).as_bytes()
    source = RecordingTokenSource([graph_endpoint.issue_token()])
    async with transport(graph_endpoint, ca_file, source) as graph:
        result = await graph.send(MAILBOX, ["ops@example.net"], message)

    assert result.reply.startswith("202 Accepted")
    assert result.accepted == ["ops@example.net"]
    [received] = graph_endpoint.received
    assert received.route == "mime" and received.mailbox == MAILBOX
    assert received.mime == message
    assert received.message is not None
    assert [p.get_filename() for p in received.message.iter_attachments()] == ["report.pdf"]
    assert received.message.get_body(("html",)) is not None
    post = next(r for r in graph_endpoint.requests if r.path.endswith("/sendMail"))
    assert post.path == f"/v1.0/users/{MAILBOX}/sendMail"
    assert post.headers["content-type"] == "text/plain"


async def test_delegated_profile_sends_through_me(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    token = graph_endpoint.issue_token(scp="Mail.Send", upn=MAILBOX)
    async with transport(graph_endpoint, ca_file, RecordingTokenSource([token]), auth=AuthMode.OAUTH_DEVICE) as graph:
        await graph.send(MAILBOX, ["ops@example.net"], mime())
    assert [r.path for r in graph_endpoint.requests] == ["/v1.0/me/sendMail"]
    assert graph_endpoint.received[0].mailbox == MAILBOX


async def test_envelope_recipient_missing_from_headers_is_sent_as_bcc(graph_endpoint: GraphEndpoint,
                                                                      ca_file: str) -> None:
    await send_one(graph_endpoint, ca_file, mime(to=("visible@example.net",)),
                   ["visible@example.net", "hidden@example.org"])
    received = graph_endpoint.received[0].message
    assert isinstance(received, EmailMessage)
    assert received["Bcc"] == "hidden@example.org"
    assert received["To"] == "visible@example.net"


async def test_many_messages_share_one_connection(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    async with transport(graph_endpoint, ca_file, RecordingTokenSource([graph_endpoint.issue_token()])) as graph:
        for n in range(5):
            await graph.send(MAILBOX, ["ops@example.net"], mime(subject=f"message {n}"))
    assert len(graph_endpoint.received) == 5
    assert graph_endpoint.connections == 1


async def test_throttling_is_transient_and_carries_retry_after(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    graph_endpoint.fail_next(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                             retry_after="7")
    with pytest.raises(TransportError) as caught:
        await send_one(graph_endpoint, ca_file, mime(), ["ops@example.net"])
    assert caught.value.scope is Scope.THROTTLE
    assert caught.value.retry_after_s == 7
    assert caught.value.diagnosis.code == "throttled"
    assert "ApplicationThrottled" in caught.value.diagnosis.detail


@pytest.mark.parametrize("status", [503, 504])
async def test_unavailable_without_retry_after_leaves_backoff_to_the_outbox(graph_endpoint: GraphEndpoint,
                                                                           ca_file: str, status: int) -> None:
    graph_endpoint.fail_next(status, "ServiceUnavailable", "Service Unavailable")
    with pytest.raises(TransportError) as caught:
        await send_one(graph_endpoint, ca_file, mime(), ["ops@example.net"])
    assert caught.value.scope is (Scope.THROTTLE if status == 503 else Scope.RETRY)
    assert caught.value.retry_after_s is None
    assert caught.value.reply_code == status


async def test_mailbox_outside_the_access_policy_is_access_denied_with_the_powershell(graph_endpoint: GraphEndpoint,
                                                                                     ca_file: str) -> None:
    graph_endpoint.mailboxes[MAILBOX].policy_apps = {"another-app"}
    with pytest.raises(TransportError) as caught:
        await send_one(graph_endpoint, ca_file, mime(), ["ops@example.net"])
    diagnosis = caught.value.diagnosis
    assert caught.value.scope is Scope.ACCOUNT
    assert diagnosis.code == "access_denied"
    assert f"New-ManagementRoleAssignment -App '{APP_ID}' -Role 'Application Mail.Send'" in diagnosis.fix
    assert f"Test-ServicePrincipalAuthorization -Identity '{APP_ID}' -Resource '{MAILBOX}'" in diagnosis.fix
    assert "ErrorAccessDenied" in diagnosis.detail


async def test_rbac_for_applications_grant_sends_without_a_role_in_the_token(graph_endpoint: GraphEndpoint,
                                                                             ca_file: str) -> None:
    graph_endpoint.mailboxes[MAILBOX].rbac_apps.add(APP_ID)
    await send_one(graph_endpoint, ca_file, mime(), ["ops@example.net"],
                   RecordingTokenSource([graph_endpoint.issue_token(roles=())]))
    assert len(graph_endpoint.received) == 1


async def test_unlicensed_mailbox_is_mailbox_not_enabled(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    graph_endpoint.mailboxes[MAILBOX].licensed = False
    with pytest.raises(TransportError) as caught:
        await send_one(graph_endpoint, ca_file, mime(), ["ops@example.net"])
    assert caught.value.diagnosis.code == "mailbox_not_enabled"
    assert caught.value.scope is Scope.ACCOUNT
    assert caught.value.reply_code == 404


async def test_foreign_from_without_send_as_fails_only_that_message(graph_endpoint: GraphEndpoint,
                                                                    ca_file: str) -> None:
    with pytest.raises(TransportError) as caught:
        await send_one(graph_endpoint, ca_file, mime(sender="ceo@example.com"), ["ops@example.net"],
                       sender="ceo@example.com")
    assert caught.value.diagnosis.code == "send_as_denied"
    assert "ceo@example.com" in caught.value.diagnosis.title
    assert caught.value.scope is Scope.MESSAGE


async def test_rejected_token_is_refreshed_exactly_once(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    stale, fresh = graph_endpoint.issue_token(), graph_endpoint.issue_token()
    graph_endpoint.revoke(stale)
    source = RecordingTokenSource([stale, fresh])
    await send_one(graph_endpoint, ca_file, mime(), ["ops@example.net"], source)
    assert source.calls.count(True) == 1
    assert len(graph_endpoint.received) == 1


async def test_token_still_rejected_after_refresh_is_invalid_token(graph_endpoint: GraphEndpoint,
                                                                    ca_file: str) -> None:
    source = RecordingTokenSource(["not-a-token-graph-knows"])
    with pytest.raises(TransportError) as caught:
        await send_one(graph_endpoint, ca_file, mime(), ["ops@example.net"], source)
    assert caught.value.diagnosis.code == "invalid_token"
    assert caught.value.scope is Scope.ACCOUNT
    assert source.calls.count(True) == 1


async def test_certificate_is_verified_against_the_system_store_without_ca_file(graph_endpoint: GraphEndpoint) -> None:
    with pytest.raises(TransportError) as caught:
        await send_one(graph_endpoint, "", mime(), ["ops@example.net"])
    assert caught.value.diagnosis.code == "tls_certificate"
    assert graph_endpoint.received == []


async def test_profile_without_oauth_credential_is_a_config_error(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    graph = GraphTransport.for_profile(graph_profile(graph_endpoint, ca_file), None)
    with pytest.raises(TransportError) as caught:
        await graph.open()
    assert caught.value.scope is Scope.ACCOUNT
    assert "OAuth" in caught.value.diagnosis.explanation


async def test_at_most_four_requests_per_app_are_in_flight(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    graph_endpoint.hold = True
    token = graph_endpoint.issue_token()
    shared = GraphLimits()  # what the services object hands every transport of one Mailwright
    transports = [transport(graph_endpoint, ca_file, RecordingTokenSource([token]), shared) for _ in range(8)]
    sends = [asyncio.create_task(t.send(MAILBOX, ["ops@example.net"], mime(subject=f"n{i}")))
             for i, t in enumerate(transports)]
    try:
        assert await asyncio.to_thread(graph_endpoint.wait_in_flight, 4)
        graph_endpoint.release()
        await asyncio.gather(*sends)
    finally:
        graph_endpoint.release()
        for t in transports:
            await t.close()
    assert len(graph_endpoint.received) == 8
    assert graph_endpoint.max_in_flight == 4
