"""Messages over Graph's 4 MB request limit: draft + upload session, and cleanup when it fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.graph_endpoint import GraphEndpoint
from tests.graph.support import MAILBOX, RecordingTokenSource, graph_profile
from wizard.services import message as message_service
from wizard.services.transports.base import Scope, TransportError
from wizard.services.transports.graph import GraphTransport

pytestmark = pytest.mark.asyncio

FIVE_MB = 5 * 1024 * 1024


def message_with(tmp_path: Path, *files: tuple[str, int]) -> tuple[bytes, dict[str, bytes]]:
    contents: dict[str, bytes] = {}
    paths = []
    for name, size in files:
        contents[name] = os.urandom(size)
        path = tmp_path / name
        path.write_bytes(contents[name])
        paths.append(path)
    mail = message_service.TestMail(from_address=MAILBOX, to=["ops@example.net"], subject="Big",
                                    body="See attached.", attachments=paths)
    return message_service.build_test_message(mail).as_bytes(), contents


async def send(endpoint: GraphEndpoint, ca_file: str, raw: bytes, roles: tuple[str, ...]) -> None:
    source = RecordingTokenSource([endpoint.issue_token(roles=roles)])
    async with GraphTransport.for_profile(graph_profile(endpoint, ca_file), source.credential()) as graph:
        result = await graph.send(MAILBOX, ["ops@example.net"], raw)
    assert result.reply.startswith("202")


async def test_five_megabyte_attachment_goes_through_draft_and_upload_session(graph_endpoint: GraphEndpoint,
                                                                             ca_file: str, tmp_path: Path) -> None:
    raw, contents = message_with(tmp_path, ("video.bin", FIVE_MB))
    await send(graph_endpoint, ca_file, raw, ("Mail.Send", "Mail.ReadWrite"))

    [received] = graph_endpoint.received
    assert received.route == "draft"
    assert received.attachments == [("video.bin", "application/octet-stream", contents["video.bin"])]
    assert received.message is not None and received.message["Subject"] == "Big"
    uploads = [r for r in graph_endpoint.requests if r.method == "PUT"]
    assert [u.body_size for u in uploads] == [4 * 1024 * 1024, FIVE_MB - 4 * 1024 * 1024]
    assert all("authorization" not in u.headers for u in uploads)
    assert all("authorization" in r.headers for r in graph_endpoint.requests if r.method != "PUT")
    assert graph_endpoint.drafts == {}


async def test_small_attachments_stay_in_the_mime_and_only_the_big_one_is_uploaded(
        graph_endpoint: GraphEndpoint, ca_file: str, tmp_path: Path) -> None:
    raw, contents = message_with(tmp_path, ("notes.bin", 2000), ("archive.zip", FIVE_MB))
    await send(graph_endpoint, ca_file, raw, ("Mail.Send", "Mail.ReadWrite"))

    [received] = graph_endpoint.received
    assert received.message is not None
    kept = {p.get_filename(): p.get_payload(decode=True) for p in received.message.iter_attachments()}
    assert kept == {"notes.bin": contents["notes.bin"]}
    assert [name for name, _, _ in received.attachments] == ["archive.zip"]


async def test_attachments_under_three_megabytes_are_posted_when_the_mime_is_still_too_big(
        graph_endpoint: GraphEndpoint, ca_file: str, tmp_path: Path) -> None:
    raw, contents = message_with(tmp_path, ("a.bin", 2 * 1024 * 1024), ("b.bin", 2 * 1024 * 1024))
    await send(graph_endpoint, ca_file, raw, ("Mail.Send", "Mail.ReadWrite"))

    [received] = graph_endpoint.received
    assert received.route == "draft"
    assert [r for r in graph_endpoint.requests if r.method == "PUT"] == []
    assert {name: data for name, _, data in received.attachments}.items() <= contents.items()
    assert received.message is not None
    in_mime = [p.get_filename() for p in received.message.iter_attachments()]
    assert sorted(in_mime + [name for name, _, _ in received.attachments]) == ["a.bin", "b.bin"]


async def test_large_message_without_mail_readwrite_is_access_denied(graph_endpoint: GraphEndpoint, ca_file: str,
                                                                    tmp_path: Path) -> None:
    raw, _ = message_with(tmp_path, ("video.bin", FIVE_MB))
    with pytest.raises(TransportError) as caught:
        await send(graph_endpoint, ca_file, raw, ("Mail.Send",))
    assert caught.value.diagnosis.code == "access_denied"
    assert graph_endpoint.received == []


async def test_failed_upload_deletes_the_draft_and_is_retried_later(graph_endpoint: GraphEndpoint, ca_file: str,
                                                                   tmp_path: Path) -> None:
    raw, _ = message_with(tmp_path, ("video.bin", FIVE_MB))
    graph_endpoint.fail_next(503, "ServiceUnavailable", path_contains="createUploadSession", retry_after="30")
    with pytest.raises(TransportError) as caught:
        await send(graph_endpoint, ca_file, raw, ("Mail.Send", "Mail.ReadWrite"))
    assert caught.value.scope is Scope.THROTTLE  # 503: retried later, the account slows down
    assert caught.value.retry_after_s == 30
    assert graph_endpoint.drafts == {}
    assert any(r.method == "DELETE" for r in graph_endpoint.requests)


async def test_body_too_big_without_attachments_is_permanent(graph_endpoint: GraphEndpoint, ca_file: str) -> None:
    raw = message_service.build_test_message(message_service.TestMail(
        from_address=MAILBOX, to=["ops@example.net"], body="x" * FIVE_MB, html=False)).as_bytes()
    with pytest.raises(TransportError) as caught:
        await send(graph_endpoint, ca_file, raw, ("Mail.Send", "Mail.ReadWrite"))
    assert caught.value.scope is Scope.MESSAGE
    assert graph_endpoint.requests == []
