"""The client settings the relay dialog shows are right: the Python one, run as printed, submits through the real
relay with sign-in required; every guide names the address, the port and the user."""

from __future__ import annotations

import asyncio
import os
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.fixtures.smtp_servers import free_port
from wizard.services import relay_user_admin, secrets
from wizard.services.config import ConfigStore
from wizard.services.model import Profile
from wizard.services.outbox import Outbox
from wizard.services.relay import start_relay
from wizard.services.relay_clients import RelayEndpoint, client_guides
from wizard.services.relay_users import RelayUser

pytestmark = pytest.mark.keyring


def test_every_guide_names_the_address_port_and_user() -> None:
    endpoint = RelayEndpoint("relay.example.com", 587, "starttls", "shop")
    for guide in client_guides(endpoint):
        text = guide.settings
        assert "relay.example.com" in text and "587" in text and "shop" in text, guide.client
    salesforce = next(g for g in client_guides(RelayEndpoint("127.0.0.1", 2525, "none", "")) if
                      g.client == "Salesforce")
    assert "cannot reach it" in salesforce.note


@pytest.mark.asyncio
async def test_the_python_guide_runs_as_printed_against_the_relay(data_home: Path) -> None:
    store = ConfigStore()
    store.save_profile(Profile(name="main", from_address="app@example.com"))
    store.set_table_value("relay", "require_auth", True)
    relay_user_admin.add_user(store, RelayUser("shop"), "shop relay password")
    outbox = Outbox()
    port = free_port()
    server = await start_relay(outbox, store.load, "127.0.0.1", port)
    try:
        [python] = [g for g in client_guides(RelayEndpoint("127.0.0.1", port, "none", "shop")) if g.client == "Python"]
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "app@example.com", "bob@example.net", "From the guide"
        message.set_content("hello")
        os.environ["RELAY_PASSWORD"] = "shop relay password"
        try:
            await asyncio.to_thread(exec, python.settings, {"message": message})
        finally:
            del os.environ["RELAY_PASSWORD"]
        [stored] = outbox.summaries()
        assert stored.profile == "main"
    finally:
        server.close()
        await server.wait_closed()
        secrets.delete_relay_password("shop")
