"""The relay on a network address: only with --allow-remote, a certificate and relay users; AUTH over TLS or 530.

The relay listens on a non-loopback address of this machine (its own IP, else 0.0.0.0 reached through
127.0.0.1), with trustme certificates, users in the real keyring and a real outbox; the client is smtplib.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import smtplib
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import trustme

from wizard.services import secrets
from wizard.services.config import Config, ConfigStore
from wizard.services.config_cache import CachedConfigLoader
from wizard.services.model import Profile
from wizard.services.outbox import Outbox
from wizard.services.relay import RelayConfigError, start_relay
from wizard.services.relay_security import RelayAuthenticator, RelaySecurity, load_relay_tls

pytestmark = pytest.mark.keyring

SENDER = "app@example.com"
MESSAGE = b"From: app@example.com\r\nTo: bob@example.net\r\nSubject: from the LAN\r\n\r\nhello\r\n"


@dataclass(frozen=True)
class NetworkAddress:
    bind: str  # what the relay listens on (never loopback)
    connect: str  # what the client dials


def _own_addresses() -> list[str]:
    found: list[str] = []
    try:
        found += subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        found += [str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    except OSError:
        pass
    return [a for a in found if ":" not in a and not a.startswith("127.")]


@pytest.fixture(scope="module")
def network_address() -> NetworkAddress:
    """This machine's own non-loopback IPv4 address, else the wildcard (still not loopback) reached via 127.0.0.1."""
    for address in _own_addresses():
        with socket.socket() as probe:
            try:
                probe.bind((address, 0))
            except OSError:
                continue
        return NetworkAddress(address, address)
    return NetworkAddress("0.0.0.0", "127.0.0.1")


def free_port_on(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def relay_user(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A user in config.toml with its password in the real keyring (unique per test; removed afterwards)."""
    name = f"lan-{abs(hash(request.node.nodeid)) % 10**8}"
    password = f"pw-{name}-sesame!"
    secrets.store_relay_password(name, password)
    ConfigStore().set_table_value("relay", "users", [name])
    yield name, password
    secrets.delete_relay_password(name)


@pytest.fixture
def certificate(trusted_ca: trustme.CA, network_address: NetworkAddress, tmp_path: Path) -> tuple[str, str]:
    leaf = trusted_ca.issue_cert(network_address.connect, "127.0.0.1", "localhost")
    cert, key = tmp_path / "relay-cert.pem", tmp_path / "relay-key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    return str(cert), str(key)


@pytest.fixture
def configured(certificate: tuple[str, str], relay_user: tuple[str, str]) -> tuple[str, str]:
    """`config set relay.tls_certificate/tls_key` as the README says, plus one relay user; returns the user."""
    store = ConfigStore()
    store.set("relay.tls_certificate", certificate[0])
    store.set("relay.tls_key", certificate[1])
    store.save_profile(Profile(name="main", from_address=SENDER, host="smtp.example.com"))
    return relay_user


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


T = TypeVar("T")


class Relay:
    def __init__(self, server: asyncio.Server, address: NetworkAddress, port: int) -> None:
        self.server, self.host, self.port = server, address.connect, port

    async def run(self, client: Callable[[], T]) -> T:
        """The blocking smtplib client in a thread, so the relay on this loop can answer it."""
        return await asyncio.to_thread(client)


async def started(outbox: Outbox, address: NetworkAddress, *, security: RelaySecurity | None = None) -> Relay:
    port = free_port_on(address.bind)
    server = await start_relay(outbox, CachedConfigLoader(), address.bind, port, allow_remote=True,
                               security=security)
    return Relay(server, address, port)


async def closed(relay: Relay) -> None:
    relay.server.close()
    await relay.server.wait_closed()


# --- refusals ----------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_network_address_is_refused_without_allow_remote(configured: tuple[str, str],
                                                               network_address: NetworkAddress) -> None:
    with pytest.raises(RelayConfigError, match=r"loopback-only.*--allow-remote"):
        await start_relay(Outbox(), CachedConfigLoader(), network_address.bind, free_port_on(network_address.bind))


@pytest.mark.asyncio
async def test_refused_without_certificate_naming_the_setting(relay_user: tuple[str, str],
                                                              network_address: NetworkAddress) -> None:
    with pytest.raises(RelayConfigError, match=r"set relay\.tls_certificate"):
        await started(Outbox(), network_address)


@pytest.mark.asyncio
async def test_refused_without_users_naming_the_command(certificate: tuple[str, str],
                                                        network_address: NetworkAddress) -> None:
    ConfigStore().set("relay.tls_certificate", certificate[0])
    ConfigStore().set("relay.tls_key", certificate[1])
    with pytest.raises(RelayConfigError, match="add a user with `mailwright relay user add NAME`"):
        await started(Outbox(), network_address)


@pytest.mark.asyncio
async def test_refused_when_the_keyring_has_no_password_for_the_users(certificate: tuple[str, str],
                                                                      network_address: NetworkAddress) -> None:
    ConfigStore().set("relay.tls_certificate", certificate[0])
    ConfigStore().set("relay.tls_key", certificate[1])
    ConfigStore().set_table_value("relay", "users", ["nobody-has-this-user-1"])
    with pytest.raises(RelayConfigError, match=r"no password for the relay user.*nobody-has-this-user-1"):
        await started(Outbox(), network_address)


@pytest.mark.asyncio
async def test_expired_certificate_is_refused(trusted_ca: trustme.CA, tmp_path: Path, relay_user: tuple[str, str],
                                              network_address: NetworkAddress) -> None:
    now = datetime.datetime.now(datetime.UTC)
    leaf = trusted_ca.issue_cert("127.0.0.1", not_before=now - datetime.timedelta(days=400),
                                 not_after=now - datetime.timedelta(days=1))
    combined = tmp_path / "expired.pem"  # key and certificate in one file: relay.tls_key stays unset
    leaf.private_key_and_cert_chain_pem.write_to_path(str(combined))
    ConfigStore().set("relay.tls_certificate", str(combined))
    with pytest.raises(RelayConfigError, match=r"relay\.tls_certificate: the certificate in .* expired on"):
        await started(Outbox(), network_address)


@pytest.mark.asyncio
async def test_a_key_that_does_not_match_is_refused_naming_relay_tls_key(
        trusted_ca: trustme.CA, certificate: tuple[str, str], tmp_path: Path, relay_user: tuple[str, str],
        network_address: NetworkAddress) -> None:
    other_key = tmp_path / "other-key.pem"
    trusted_ca.issue_cert("other.example").private_key_pem.write_to_path(str(other_key))
    ConfigStore().set("relay.tls_certificate", certificate[0])
    ConfigStore().set("relay.tls_key", str(other_key))
    with pytest.raises(RelayConfigError, match=r"check relay\.tls_key"):
        await started(Outbox(), network_address)


def test_config_set_checks_relay_values(tmp_path: Path) -> None:
    from wizard.services.validation import InvalidInputError

    store = ConfigStore()
    with pytest.raises(InvalidInputError, match=r"relay\.tls_certificate: the file .* does not exist"):
        store.set("relay.tls_certificate", str(tmp_path / "missing.pem"))
    with pytest.raises(InvalidInputError, match=r"relay\.tls_mode must be starttls .* or implicit"):
        store.set("relay.tls_mode", "ssl")
    with pytest.raises(InvalidInputError, match="relay user add"):
        store.set("relay.users", "alice")
    assert store.set("relay.tls_mode", "IMPLICIT") == "implicit"
    assert store.load().relay.tls_mode == "implicit"


# --- the protocol --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_without_starttls_no_auth_is_offered_and_mail_gets_530(configured: tuple[str, str],
                                                                     network_address: NetworkAddress) -> None:
    outbox = Outbox()
    relay = await started(outbox, network_address)
    try:
        def plain_session() -> tuple[str, tuple[int, bytes], tuple[int, bytes]]:
            with smtplib.SMTP(relay.host, relay.port, timeout=10) as client:
                _, features = client.ehlo()
                return features.decode(), client.mail(SENDER), client.docmd("AUTH", "PLAIN")
        features, mail_reply, auth_reply = await relay.run(plain_session)
        assert "STARTTLS" in features and "AUTH" not in features
        assert mail_reply[0] == 530 and auth_reply[0] == 530
        assert outbox.messages() == []
    finally:
        await closed(relay)


@pytest.mark.asyncio
async def test_after_starttls_mail_without_auth_gets_530(configured: tuple[str, str], trusted_ca: trustme.CA,
                                                         network_address: NetworkAddress) -> None:
    outbox = Outbox()
    relay = await started(outbox, network_address)
    try:
        def unauthenticated() -> tuple[str, tuple[int, bytes]]:
            with smtplib.SMTP(relay.host, relay.port, timeout=10) as client:
                client.starttls(context=client_context(trusted_ca))
                _, features = client.ehlo()
                return features.decode(), client.mail(SENDER)
        features, (code, reply) = await relay.run(unauthenticated)
        assert "AUTH LOGIN PLAIN" in features
        assert code == 530 and b"Authentication required" in reply
        assert outbox.messages() == []
    finally:
        await closed(relay)


def _authenticated_send(host: str, port: int, ca: trustme.CA, user: str, password: str, mechanism: str,
                        *, implicit: bool = False) -> dict[str, tuple[int, bytes]]:
    context = client_context(ca)
    client = smtplib.SMTP_SSL(host, port, timeout=10, context=context) if implicit \
        else smtplib.SMTP(host, port, timeout=10)
    with client:
        if not implicit:
            client.starttls(context=context)
        client.ehlo()
        client.user, client.password = user, password
        authobject = client.auth_plain if mechanism == "PLAIN" else client.auth_login
        client.auth(mechanism, authobject, initial_response_ok=mechanism == "PLAIN")
        return client.sendmail(SENDER, ["bob@example.net"], MESSAGE)


@pytest.mark.asyncio
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_starttls_and_auth_queue_the_message(mechanism: str, configured: tuple[str, str],
                                                   trusted_ca: trustme.CA, network_address: NetworkAddress,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    user, password = configured
    outbox = Outbox()
    relay = await started(outbox, network_address)
    caplog.set_level(logging.INFO)
    try:
        refused = await relay.run(lambda: _authenticated_send(relay.host, relay.port, trusted_ca, user, password,
                                                              mechanism))
        assert refused == {}
        [stored] = outbox.messages()
        assert stored.profile == "main" and stored.recipients == ("bob@example.net",)
        assert b"Subject: from the LAN" in stored.raw
        assert f"{user} signed in" in caplog.text and "login_data is deprecated" not in caplog.text
        assert password not in caplog.text
    finally:
        await closed(relay)


@pytest.mark.asyncio
async def test_wrong_password_gets_535_queues_nothing_and_is_logged_without_the_password(
        configured: tuple[str, str], trusted_ca: trustme.CA, network_address: NetworkAddress,
        caplog: pytest.LogCaptureFixture) -> None:
    user, _ = configured
    wrong = "not-the-password-at-all"
    outbox = Outbox()
    relay = await started(outbox, network_address)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            await relay.run(lambda: _authenticated_send(relay.host, relay.port, trusted_ca, user, wrong, "PLAIN"))
        assert refused.value.smtp_code == 535
        assert outbox.messages() == []
        assert any("failed AUTH PLAIN" in r.getMessage() and user in r.getMessage() for r in caplog.records)
        assert not any(wrong in r.getMessage() for r in caplog.records)
    finally:
        await closed(relay)


@pytest.mark.asyncio
async def test_implicit_tls_mode(configured: tuple[str, str], trusted_ca: trustme.CA,
                                 network_address: NetworkAddress) -> None:
    user, password = configured
    ConfigStore().set("relay.tls_mode", "implicit")
    outbox = Outbox()
    relay = await started(outbox, network_address)
    try:
        def mail_without_auth() -> tuple[int, bytes]:
            with smtplib.SMTP_SSL(relay.host, relay.port, timeout=10, context=client_context(trusted_ca)) as client:
                _, features = client.ehlo()
                assert b"AUTH LOGIN PLAIN" in features and b"STARTTLS" not in features
                return client.mail(SENDER)
        code, _ = await relay.run(mail_without_auth)
        assert code == 530
        refused = await relay.run(lambda: _authenticated_send(relay.host, relay.port, trusted_ca, user, password,
                                                              "LOGIN", implicit=True))
        assert refused == {} and len(outbox.messages()) == 1
    finally:
        await closed(relay)


@pytest.mark.asyncio
async def test_repeated_failures_lock_the_address_out(configured: tuple[str, str], trusted_ca: trustme.CA,
                                                      network_address: NetworkAddress) -> None:
    user, password = configured
    loader = CachedConfigLoader()
    authenticator = RelayAuthenticator(loader, free_failures=1, delay_s=0.05, lockout_failures=3)
    security = RelaySecurity(load_relay_tls(loader().relay), authenticator)
    outbox = Outbox()
    relay = await started(outbox, network_address, security=security)
    try:
        for _ in range(3):
            with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
                await relay.run(lambda: _authenticated_send(relay.host, relay.port, trusted_ca, user, "guess-guess",
                                                            "PLAIN"))
            assert wrong.value.smtp_code == 535
        with pytest.raises(smtplib.SMTPAuthenticationError) as locked:
            await relay.run(lambda: _authenticated_send(relay.host, relay.port, trusted_ca, user, password, "PLAIN"))
        assert locked.value.smtp_code == 454 and b"Too many failed" in locked.value.smtp_error
        assert outbox.messages() == []
    finally:
        await closed(relay)


@pytest.mark.asyncio
async def test_a_removed_user_cannot_sign_in_without_a_restart(configured: tuple[str, str], trusted_ca: trustme.CA,
                                                               network_address: NetworkAddress) -> None:
    user, password = configured
    outbox = Outbox()
    relay = await started(outbox, network_address)
    try:
        ConfigStore().set_table_value("relay", "users", [])
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            await relay.run(lambda: _authenticated_send(relay.host, relay.port, trusted_ca, user, password, "PLAIN"))
        assert refused.value.smtp_code == 535 and outbox.messages() == []
    finally:
        await closed(relay)


@pytest.mark.asyncio
async def test_loopback_still_needs_no_auth(configured: tuple[str, str]) -> None:
    """The remote settings change nothing on loopback: no TLS, no AUTH, mail accepted as before."""
    outbox = Outbox()
    port = free_port_on("127.0.0.1")
    server = await start_relay(outbox, lambda: Config(profiles={"main": Profile(name="main", from_address=SENDER)},
                                                      default_profile="main"), "127.0.0.1", port)
    try:
        def submit() -> tuple[str, dict[str, tuple[int, bytes]]]:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                _, features = client.ehlo()
                return features.decode(), client.sendmail(SENDER, ["bob@example.net"], MESSAGE)
        features, refused = await asyncio.to_thread(submit)
        assert "AUTH" not in features and "STARTTLS" not in features and refused == {}
        assert len(outbox.messages()) == 1
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.asyncio
async def test_a_new_password_applies_once_the_cached_ones_are_stale(configured: tuple[str, str],
                                                                    trusted_ca: trustme.CA,
                                                                    network_address: NetworkAddress) -> None:
    user, old_password = configured
    loader = CachedConfigLoader()
    security = RelaySecurity(load_relay_tls(loader().relay), RelayAuthenticator(loader, password_ttl_s=0.0))
    outbox = Outbox()
    relay = await started(outbox, network_address, security=security)
    try:
        secrets.store_relay_password(user, "the replacement password")  # what `relay user add` does for a known user
        with pytest.raises(smtplib.SMTPAuthenticationError):
            await relay.run(lambda: _authenticated_send(relay.host, relay.port, trusted_ca, user, old_password,
                                                        "PLAIN"))
        refused = await relay.run(lambda: _authenticated_send(relay.host, relay.port, trusted_ca, user,
                                                              "the replacement password", "PLAIN"))
        assert refused == {} and len(outbox.messages()) == 1
    finally:
        await closed(relay)


# --- the app: `[relay] allow_remote = true` ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.asyncio
async def test_the_app_runs_a_network_relay_only_when_the_config_allows_it(
        configured: tuple[str, str], trusted_ca: trustme.CA, network_address: NetworkAddress) -> None:
    from wizard.services.background_delivery import (
        BackgroundDelivery,
        relay_address_from_config,
        relay_settings_from_config,
    )

    user, password = configured
    store = ConfigStore()
    port = free_port_on(network_address.bind)
    store.set("relay.enabled", "true")
    store.set("relay.listen", f"{network_address.bind}:{port}")
    delivery = BackgroundDelivery(Outbox(), store.load, relay_address=relay_address_from_config(store.path),
                                  relay_allow_remote=relay_settings_from_config(store.path).allow_remote, poll_s=5)
    await delivery.start()
    try:
        assert delivery.relay is None and "config set relay.allow_remote true" in delivery.relay_error
        store.set("relay.allow_remote", "true")
        await delivery.apply_relay(relay_address_from_config(store.path),
                                   relay_settings_from_config(store.path).allow_remote)
        assert delivery.relay is not None and delivery.relay.running and not delivery.relay_error
        refused = await asyncio.to_thread(_authenticated_send, network_address.connect, port, trusted_ca, user,
                                          password, "PLAIN")
        assert refused == {} and len(delivery.outbox.messages()) == 1  # accepted by the child, after AUTH over TLS
    finally:
        await delivery.stop()


@pytest.mark.asyncio
async def test_simultaneous_guesses_from_one_address_do_not_all_pass_the_brake(
        configured: tuple[str, str], trusted_ca: trustme.CA, network_address: NetworkAddress) -> None:
    user, _ = configured
    loader = CachedConfigLoader()
    # Every attempt is delayed (free_failures=0): five connections guessing at once all reach AUTH before the
    # first guess is checked. Counted only after a verdict, all five would be checked; in flight, 3 are.
    authenticator = RelayAuthenticator(loader, free_failures=0, delay_s=0.3, lockout_failures=3)
    relay = await started(Outbox(), network_address, security=RelaySecurity(load_relay_tls(loader().relay),
                                                                            authenticator))

    def guess() -> int:
        try:
            _authenticated_send(relay.host, relay.port, trusted_ca, user, "guess-guess-guess", "PLAIN")
        except smtplib.SMTPAuthenticationError as refused:
            return refused.smtp_code
        return 250

    try:
        codes = sorted(await asyncio.gather(*(relay.run(guess) for _ in range(5))))
        assert codes == [454, 454, 535, 535, 535]
    finally:
        await closed(relay)
