"""Autodetection end to end against a real DNS server, an HTTPS autoconfig server and SMTP servers on loopback."""

from __future__ import annotations

import asyncio

import pytest
import trustme

from tests.autodetect.conftest import AutoconfigServer, SilentServer, connect_to_for
from tests.fixtures.smtp_servers import SmtpServerFactory, server_context
from wizard.services.autodetect import Detection, Source, SourceStatus, detect
from wizard.services.model import ProviderKind, Security
from wizard.services.validation import InvalidInputError


def autoconfig_document(host: str, port: int, socket_type: str) -> bytes:
    return (f'<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="x">'
            f'<outgoingServer type="smtp"><hostname>{host}</hostname><port>{port}</port>'
            f"<socketType>{socket_type}</socketType><authentication>password-cleartext</authentication>"
            f"<username>%EMAILADDRESS%</username></outgoingServer></emailProvider></clientConfig>").encode()


async def detect_locally(address: str, nameserver: str, https: AutoconfigServer, ca_file: str,
                         smtp: dict[tuple[str, int], int] | None = None) -> Detection:
    domain = address.rpartition("@")[2]
    return await detect(address, nameserver=nameserver, timeout_s=5.0, http_ca_file=ca_file,
                        smtp_ca_file=ca_file, connect_to=connect_to_for(domain, https_port=https.port, smtp=smtp))


def status(detection: Detection, source: Source) -> SourceStatus | None:
    report = detection.report(source)
    return report.status if report else None


@pytest.mark.asyncio
async def test_gmail_address_is_proposed_from_the_catalogue(
        nameserver: str, autoconfig_server: AutoconfigServer, ca_file: str) -> None:

    detection = await detect_locally("someone@gmail.com", nameserver, autoconfig_server, ca_file)

    best = detection.best
    assert best is not None
    assert (best.provider_kind, best.catalogue_id, best.host, best.port, best.security) == (
        ProviderKind.GMAIL, "google", "smtp.gmail.com", 587, Security.STARTTLS)
    assert best.source is Source.CATALOGUE
    assert "gmail.com is a Google" in best.evidence
    assert {(p.host, p.port) for p in detection.proposals} == {("smtp.gmail.com", 587), ("smtp.gmail.com", 465)}
    assert status(detection, Source.PROBE) is SourceStatus.SKIPPED


@pytest.mark.asyncio
async def test_custom_domain_with_microsoft_365_mx_proposes_m365_smtp_then_graph(
        nameserver: str, autoconfig_server: AutoconfigServer, ca_file: str) -> None:

    detection = await detect_locally("billing@contoso.example.test", nameserver, autoconfig_server, ca_file)

    kinds = [p.provider_kind for p in detection.proposals]
    assert kinds == [ProviderKind.M365_SMTP, ProviderKind.GRAPH]
    m365 = detection.proposals[0]
    assert (m365.host, m365.port, m365.security, m365.auth_mechanisms) == (
        "smtp.office365.com", 587, Security.STARTTLS, ("XOAUTH2",))
    assert m365.source is Source.MX
    assert m365.evidence == "MX record contoso-example-test.mail.protection.outlook.com matches Microsoft 365"
    assert m365.username_hint == "billing@contoso.example.test"
    assert status(detection, Source.CATALOGUE) is SourceStatus.NOTHING
    assert status(detection, Source.AUTOCONFIG) is SourceStatus.NOTHING  # both URLs answered 404
    assert status(detection, Source.PROBE) is SourceStatus.SKIPPED


@pytest.mark.asyncio
async def test_custom_domain_with_google_mx_proposes_google_workspace(
        nameserver: str, autoconfig_server: AutoconfigServer, ca_file: str) -> None:

    detection = await detect_locally("ops@gsuite.example.test", nameserver, autoconfig_server, ca_file)

    best = detection.best
    assert best is not None and best.provider_kind is ProviderKind.GMAIL
    assert best.evidence == "MX record aspmx.l.google.com matches Google (Gmail / Google Workspace)"


@pytest.mark.asyncio
async def test_legacy_googlemail_mx_is_google_workspace(nameserver: str, autoconfig_server: AutoconfigServer,
                                                       ca_file: str) -> None:
    detection = await detect_locally("ann@legacy-gsuite.example.test", nameserver, autoconfig_server, ca_file)

    best = detection.proposals[0]
    assert (best.source, best.catalogue_id, best.provider_kind) == (Source.MX, "google", ProviderKind.GMAIL)
    assert best.evidence == "MX record aspmx4.googlemail.com matches Google (Gmail / Google Workspace)"
    assert status(detection, Source.PROBE) is SourceStatus.SKIPPED


@pytest.mark.asyncio
async def test_autoconfig_document_at_the_autoconfig_host_names_the_smtp_server(
        nameserver: str, autoconfig_server: AutoconfigServer, ca_file: str) -> None:
    autoconfig_server.documents[("autoconfig.auto.example.test", "/mail/config-v1.1.xml")] = \
        autoconfig_document("smtp.%EMAILDOMAIN%", 465, "SSL")

    detection = await detect_locally("ann@auto.example.test", nameserver, autoconfig_server, ca_file)

    best = detection.best
    assert best is not None
    assert (best.source, best.provider_kind, best.host, best.port, best.security) == (
        Source.AUTOCONFIG, ProviderKind.SMTP, "smtp.auto.example.test", 465, Security.TLS)
    assert best.auth_mechanisms == ("PLAIN", "LOGIN")
    assert best.username_hint == "ann@auto.example.test"
    assert "https://autoconfig.auto.example.test/mail/config-v1.1.xml" in best.evidence
    assert status(detection, Source.MX) is SourceStatus.NOTHING  # the zone exists but has no MX
    assert status(detection, Source.PROBE) is SourceStatus.SKIPPED


@pytest.mark.asyncio
async def test_autoconfig_document_at_the_well_known_url_is_used_when_the_autoconfig_host_has_none(
        nameserver: str, autoconfig_server: AutoconfigServer, ca_file: str) -> None:
    autoconfig_server.documents[("wellknown.example.test", "/.well-known/autoconfig/mail/config-v1.1.xml")] = \
        autoconfig_document("submit.wellknown.example.test", 587, "STARTTLS")
    # Answered only after the autoconfig host's 404, which the assertion below expects to have been asked.
    autoconfig_server.gates[("wellknown.example.test", "/.well-known/autoconfig/mail/config-v1.1.xml")] = \
        autoconfig_server.answered[("autoconfig.wellknown.example.test", "/mail/config-v1.1.xml")]

    detection = await detect_locally("ann@wellknown.example.test", nameserver, autoconfig_server, ca_file)

    best = detection.best
    assert best is not None
    assert (best.source, best.host, best.port, best.security) == (
        Source.AUTOCONFIG, "submit.wellknown.example.test", 587, Security.STARTTLS)
    assert "/.well-known/autoconfig/mail/config-v1.1.xml" in best.evidence
    assert ("autoconfig.wellknown.example.test", "/mail/config-v1.1.xml") in autoconfig_server.requests


@pytest.mark.asyncio
async def test_a_silent_autoconfig_host_does_not_hide_the_well_known_document(
        nameserver: str, autoconfig_server: AutoconfigServer, silent_tcp: SilentServer, ca_file: str) -> None:
    domain = "wellknown.example.test"
    autoconfig_server.documents[(domain, "/.well-known/autoconfig/mail/config-v1.1.xml")] = \
        autoconfig_document(f"smtp.{domain}", 465, "SSL")
    connect_to = connect_to_for(domain, https_port=autoconfig_server.port)
    connect_to[(f"autoconfig.{domain}", 443)] = ("127.0.0.1", silent_tcp.port)
    # The document comes only once the silent host was reached, so detection really had it to wait for.
    autoconfig_server.gates[(domain, "/.well-known/autoconfig/mail/config-v1.1.xml")] = silent_tcp.contacted

    detection = await detect(f"ann@{domain}", nameserver=nameserver, timeout_s=60, http_ca_file=ca_file,
                             smtp_ca_file=ca_file, connect_to=connect_to)

    assert detection.best is not None and detection.best.source is Source.AUTOCONFIG
    assert silent_tcp.contacted.is_set()


@pytest.mark.asyncio
async def test_malformed_autoconfig_document_is_reported_and_the_other_url_still_used(
        nameserver: str, autoconfig_server: AutoconfigServer, ca_file: str) -> None:
    autoconfig_server.documents[("autoconfig.broken.example.test", "/mail/config-v1.1.xml")] = \
        b"<clientConfig><emailProvider><outgoingServer type='smtp'>"
    autoconfig_server.documents[("broken.example.test", "/.well-known/autoconfig/mail/config-v1.1.xml")] = \
        autoconfig_document("smtp.broken.example.test", 587, "STARTTLS")
    # The good document must not win the race before the broken one has been read (CI saw that once).
    autoconfig_server.gates[("broken.example.test", "/.well-known/autoconfig/mail/config-v1.1.xml")] = \
        autoconfig_server.answered[("autoconfig.broken.example.test", "/mail/config-v1.1.xml")]

    detection = await detect_locally("ann@broken.example.test", nameserver, autoconfig_server, ca_file)

    assert detection.best is not None and detection.best.host == "smtp.broken.example.test"
    report = detection.report(Source.AUTOCONFIG)
    assert report is not None
    assert len(report.errors) == 1
    assert report.errors[0].startswith("https://autoconfig.broken.example.test/mail/config-v1.1.xml: "
                                       "the document is not well-formed XML")


@pytest.mark.asyncio
async def test_only_a_malformed_autoconfig_document_is_an_error_not_nothing(
        nameserver: str, autoconfig_server: AutoconfigServer, ca_file: str) -> None:
    autoconfig_server.documents[("autoconfig.broken.example.test", "/mail/config-v1.1.xml")] = b"<clientConfig"

    detection = await detect_locally("ann@broken.example.test", nameserver, autoconfig_server, ca_file)

    assert status(detection, Source.AUTOCONFIG) is SourceStatus.ERROR


@pytest.mark.asyncio
async def test_autoconfig_server_with_an_untrusted_certificate_is_not_believed(
        nameserver: str, autoconfig_server: AutoconfigServer, untrusted_ca: trustme.CA,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    autoconfig_server.documents[("autoconfig.auto.example.test", "/mail/config-v1.1.xml")] = \
        autoconfig_document("smtp.auto.example.test", 465, "SSL")
    other_ca = str(tmp_path_factory.mktemp("other") / "ca.pem")
    untrusted_ca.cert_pem.write_to_path(other_ca)

    detection = await detect_locally("ann@auto.example.test", nameserver, autoconfig_server, other_ca)

    assert not any(p.source is Source.AUTOCONFIG for p in detection.proposals)
    report = detection.report(Source.AUTOCONFIG)
    assert report is not None and report.status is SourceStatus.ERROR
    assert "certificate not trusted" in report.errors[0]


@pytest.mark.asyncio
async def test_probe_finds_implicit_tls_on_465_with_auth_plain_and_login(
        nameserver: str, autoconfig_server: AutoconfigServer, ca_file: str,
        trusted_ca: trustme.CA, smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("tls", extra_kwargs={"ssl_context": server_context(trusted_ca, "smtp.probe.example.test")})

    detection = await detect_locally("ann@probe.example.test", nameserver, autoconfig_server, ca_file,
                                     smtp={("smtp.probe.example.test", 465): server.port})

    assert [(p.source, p.host, p.port, p.security) for p in detection.proposals] == [
        (Source.PROBE, "smtp.probe.example.test", 465, Security.TLS)]
    assert set(detection.proposals[0].auth_mechanisms) == {"PLAIN", "LOGIN"}
    assert detection.proposals[0].evidence == ("smtp.probe.example.test:465 answered with implicit TLS; "
                                               "AUTH: LOGIN PLAIN")
    report = detection.report(Source.PROBE)
    assert report is not None and "mail.probe.example.test:587: connection refused" in report.errors
    assert server.messages == []


@pytest.mark.asyncio
async def test_probe_reads_auth_after_starttls_and_ranks_implicit_tls_first(
        nameserver: str, autoconfig_server: AutoconfigServer, ca_file: str,
        trusted_ca: trustme.CA, smtp_server: SmtpServerFactory) -> None:
    names = ("smtp.probe.example.test", "mail.probe.example.test")
    starttls = smtp_server("starttls", extra_kwargs={"tls_context": server_context(trusted_ca, *names)})
    tls = smtp_server("tls", extra_kwargs={"ssl_context": server_context(trusted_ca, *names)})

    detection = await detect_locally("ann@probe.example.test", nameserver, autoconfig_server, ca_file,
                                     smtp={("mail.probe.example.test", 587): starttls.port,
                                           ("mail.probe.example.test", 465): tls.port})

    assert [(p.host, p.port, p.security) for p in detection.proposals] == [
        ("mail.probe.example.test", 465, Security.TLS), ("mail.probe.example.test", 587, Security.STARTTLS)]
    # aiosmtpd offers AUTH on 587 only after STARTTLS: finding it proves the probe upgraded first.
    assert set(detection.proposals[1].auth_mechanisms) == {"PLAIN", "LOGIN"}


@pytest.mark.asyncio
async def test_probe_refuses_a_server_whose_certificate_is_for_another_name(
        nameserver: str, autoconfig_server: AutoconfigServer, ca_file: str,
        smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("tls")  # certificate for localhost only

    detection = await detect_locally("ann@probe.example.test", nameserver, autoconfig_server, ca_file,
                                     smtp={("smtp.probe.example.test", 465): server.port})

    assert detection.proposals == ()
    report = detection.report(Source.PROBE)
    assert report is not None and report.status is SourceStatus.ERROR
    assert any(e.startswith("smtp.probe.example.test:465: certificate not trusted") for e in report.errors)


@pytest.mark.asyncio
async def test_when_every_server_is_silent_each_network_source_reports_a_timeout(
        silent_dns: SilentServer, silent_tcp: SilentServer, ca_file: str) -> None:
    domain = "quiet.example.test"
    connect_to = {key: ("127.0.0.1", silent_tcp.port) for key in connect_to_for(domain, https_port=None)}

    # The guard only catches a hang; detect() must return by itself at its own deadline.
    async with asyncio.timeout(30):
        detection = await detect(f"ann@{domain}", nameserver=f"127.0.0.1:{silent_dns.port}", timeout_s=1.0,
                                 http_ca_file=ca_file, smtp_ca_file=ca_file, connect_to=connect_to)

    assert detection.proposals == ()
    assert detection.timed_out == (Source.MX, Source.AUTOCONFIG, Source.PROBE)
    assert status(detection, Source.CATALOGUE) is SourceStatus.NOTHING
    assert silent_dns.contacted.is_set() and silent_tcp.contacted.is_set()
    assert detection.to_json()["ok"] is False


@pytest.mark.asyncio
async def test_once_the_catalogue_knows_the_domain_a_silent_source_is_not_waited_for(
        nameserver: str, silent_tcp: SilentServer, ca_file: str) -> None:
    connect_to = {key: ("127.0.0.1", silent_tcp.port) for key in connect_to_for("gmail.com", https_port=None)}

    detection = await detect("someone@gmail.com", nameserver=nameserver, timeout_s=60, settle_s=0.2,
                             http_ca_file=ca_file, smtp_ca_file=ca_file, connect_to=connect_to)

    assert detection.best is not None and detection.best.source is Source.CATALOGUE
    report = detection.report(Source.AUTOCONFIG)
    assert report is not None and report.status is SourceStatus.SKIPPED
    assert report.detail == "Stopped waiting 0.2 s after another source found the provider"


@pytest.mark.asyncio
async def test_bad_nameserver_is_refused_before_anything_is_asked() -> None:
    with pytest.raises(InvalidInputError, match="is not IP"):
        await detect("ann@example.test", nameserver="dns.example.test")


@pytest.mark.asyncio
async def test_cancelling_detection_cancels_every_source_and_closes_its_connections(
        silent_dns: SilentServer, silent_tcp: SilentServer, ca_file: str) -> None:
    domain = "quiet.example.test"
    connect_to = {key: ("127.0.0.1", silent_tcp.port) for key in connect_to_for(domain, https_port=None)}
    task = asyncio.create_task(detect(f"ann@{domain}", nameserver=f"127.0.0.1:{silent_dns.port}", timeout_s=60,
                                      http_ca_file=ca_file, smtp_ca_file=ca_file, connect_to=connect_to,
                                      probe_delay_s=0))
    assert await asyncio.to_thread(silent_tcp.contacted.wait, 10)
    assert await asyncio.to_thread(silent_dns.contacted.wait, 10)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert await asyncio.to_thread(silent_tcp.all_closed_by_client.wait, 10)

