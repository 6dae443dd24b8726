"""Pure parts of autodetection: the autoconfig parser, address checks, MX and host mapping, ranking."""

from __future__ import annotations

import pytest

from wizard.services.autodetect.autoconfig import MAX_DOCUMENT_BYTES, AutoconfigError, parse_autoconfig
from wizard.services.autodetect.catalogue import proposals_for_mx, provider_for_smtp_host
from wizard.services.autodetect.detect import split_address
from wizard.services.autodetect.model import Proposal, Source, ranked
from wizard.services.model import ProviderKind, Security
from wizard.services.validation import InvalidInputError

DOCUMENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <incomingServer type="imap"><hostname>imap.example.test</hostname><port>993</port>
      <socketType>SSL</socketType></incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.%EMAILDOMAIN%</hostname><port>465</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication><authentication>OAuth2</authentication>
      <username>%EMAILLOCALPART%</username>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>submit.example.test</hostname><port>587</port><socketType>STARTTLS</socketType>
      <authentication>password-encrypted</authentication><username>%EMAILADDRESS%</username>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>relay.example.test</hostname><port>25</port><socketType>plain</socketType>
    </outgoingServer>
  </emailProvider>
</clientConfig>"""


def test_autoconfig_smtp_servers_are_read_in_document_order_with_placeholders_filled() -> None:
    servers = parse_autoconfig(DOCUMENT, "ann@example.test")
    assert [(s.hostname, s.port, s.security) for s in servers] == [
        ("smtp.example.test", 465, Security.TLS),
        ("submit.example.test", 587, Security.STARTTLS),
        ("relay.example.test", 25, Security.NONE),
    ]
    assert servers[0].auth_mechanisms == ("PLAIN", "LOGIN", "XOAUTH2")
    assert servers[0].username == "ann"
    assert servers[1].auth_mechanisms == ("CRAM-MD5",)
    assert servers[1].username == "ann@example.test"


@pytest.mark.parametrize(("document", "reason"), [
    (b"<clientConfig><emailProvider>", "not well-formed"),
    (b"<html><body>Not here</body></html>", "<html>"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><clientConfig>&lol;</clientConfig>', "DTD"),
    (b"<clientConfig>" + b" " * MAX_DOCUMENT_BYTES + b"</clientConfig>", "larger than 1024 KB"),
])
def test_unusable_autoconfig_documents_are_rejected_with_the_reason(document: bytes, reason: str) -> None:
    with pytest.raises(AutoconfigError, match=reason):
        parse_autoconfig(document, "ann@example.test")


@pytest.mark.parametrize("text", ["no-at-sign", "@example.test", "ann@localhost", "ann@192.0.2.1", "a@b\r\nc.test"])
def test_address_without_a_usable_domain_is_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        split_address(text)


def test_mx_hosts_are_matched_in_preference_order_and_named_in_the_evidence() -> None:
    outcome = proposals_for_mx(["mx.backup.example.test", "contoso-test.mail.protection.outlook.com"],
                               "ann@contoso.test", "contoso.test")
    assert outcome.proposals[0].provider_kind is ProviderKind.M365_SMTP
    assert outcome.proposals[0].evidence == "MX record contoso-test.mail.protection.outlook.com matches Microsoft 365"
    assert proposals_for_mx(["mx.example.test"], "ann@example.test", "example.test").proposals == ()


def test_autoconfig_host_of_a_catalogue_provider_maps_to_it() -> None:
    assert provider_for_smtp_host("SMTP.gmail.com") == (ProviderKind.GMAIL, "google")
    assert provider_for_smtp_host("smtp.example.test") is None


def test_the_same_server_from_two_sources_is_proposed_once_with_the_stronger_evidence() -> None:
    def proposal(source: Source, confidence: float, port: int = 587) -> Proposal:
        return Proposal(ProviderKind.SMTP, "smtp.example.test", port, Security.STARTTLS, source, source.value,
                        confidence)

    result = ranked([proposal(Source.PROBE, 0.6), proposal(Source.AUTOCONFIG, 0.8), proposal(Source.PROBE, 0.7, 25)])
    assert [(p.source, p.port) for p in result] == [(Source.AUTOCONFIG, 587), (Source.PROBE, 25)]
