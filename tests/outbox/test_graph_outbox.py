"""A Graph profile goes through the outbox unchanged: the sender hands the MIME to Graph, 202 is "sent"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.graph_endpoint import GraphEndpoint, graph_endpoint
from tests.graph.support import MAILBOX, RecordingTokenSource, graph_profile, mime
from wizard.services.config import Config
from wizard.services.model import Profile
from wizard.services.outbox import MessageState, Outbox
from wizard.services.sender import Sender
from wizard.services.transports.base import Transport
from wizard.services.transports.graph import GraphTransport

__all__ = ["graph_endpoint"]


@pytest.mark.asyncio
async def test_graph_profile_mail_is_delivered_from_the_outbox_and_202_recorded(
        graph_endpoint: GraphEndpoint, ca_file: str, data_home: Path) -> None:
    profile = graph_profile(graph_endpoint, ca_file)
    tokens = RecordingTokenSource([graph_endpoint.issue_token()])

    async def factory(wanted: Profile) -> Transport:
        return GraphTransport.for_profile(wanted, tokens.credential())

    outbox = Outbox()
    stored = outbox.enqueue(mime(to=("ops@example.net",), subject="Outbox via Graph"), profile=profile.name,
                            envelope_from=MAILBOX, recipients=["ops@example.net"], priority=1)
    config = Config(profiles={profile.name: profile}, default_profile=profile.name)
    assert await Sender(outbox, lambda: config, factory).drain() == 1
    sent = outbox.get(stored.id)
    assert sent.state is MessageState.SENT and sent.last_reply.startswith("202")
    assert sent.delivered_by == profile.name
    (received,) = graph_endpoint.received
    assert received.mailbox == MAILBOX and stored.message_id.encode() in received.mime
