"""The bundled provider catalogue: it loads, every entry is complete, and the look-ups find the right one."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from wizard.services import providers
from wizard.services.providers import CatalogueError, parse_catalogue

EXPECTED = {"m365", "google", "outlook-com", "yahoo", "icloud", "zoho", "fastmail", "proton-bridge", "ses",
            "sendgrid", "mailgun", "postmark", "brevo", "mailjet", "sparkpost", "mailup", "mailchimp"}


def test_bundled_catalogue_has_every_provider() -> None:
    assert set(providers.load_catalogue()) == EXPECTED


def test_every_entry_is_usable() -> None:
    for provider in providers.all_providers():
        assert provider.name and provider.doc_url.startswith("https://"), provider.id
        assert provider.smtp, provider.id
        for preset in provider.smtp:
            assert preset.security in {"starttls", "tls", "none"} and 1 <= preset.port <= 65535
        if provider.kind != "consumer":
            assert provider.dkim_setup, provider.id


@pytest.mark.parametrize(("provider_id", "host", "port", "security", "user"), [
    ("m365", "smtp.office365.com", 587, "starttls", ""),
    ("google", "smtp.gmail.com", 587, "starttls", ""),
    ("outlook-com", "smtp-mail.outlook.com", 587, "starttls", ""),
    ("fastmail", "smtp.fastmail.com", 465, "tls", ""),
    ("sendgrid", "smtp.sendgrid.net", 587, "starttls", "apikey"),
    ("sparkpost", "smtp.sparkpostmail.com", 587, "starttls", "SMTP_Injection"),
    ("proton-bridge", "127.0.0.1", 1025, "starttls", ""),
    ("brevo", "smtp-relay.brevo.com", 587, "starttls", ""),
])
def test_presets_match_the_reference(provider_id: str, host: str, port: int, security: str, user: str) -> None:
    preset = providers.get(provider_id).smtp[0]
    assert (preset.host, preset.port, preset.security, preset.username_hint) == (host, port, security, user)


def test_dns_facts() -> None:
    assert providers.get("m365").spf_include == "spf.protection.outlook.com"
    assert providers.get("google").spf_include == "_spf.google.com"
    assert providers.get("m365").dkim_selectors == ("selector1", "selector2")
    assert not providers.get("ses").dkim_selectors_guessable
    assert not providers.get("mailchimp").return_path_aligned
    assert providers.get("m365").return_path_aligned


def test_profile_provider_kinds_map_to_entries() -> None:
    assert providers.for_profile_provider("m365-smtp") is providers.get("m365")
    assert providers.for_profile_provider("graph") is providers.get("m365")
    assert providers.for_profile_provider("gmail") is providers.get("google")
    assert providers.for_profile_provider("smtp") is None
    assert providers.for_profile_provider("smtp", "sendgrid") is providers.get("sendgrid")
    with pytest.raises(KeyError):
        providers.for_profile_provider("carrier-pigeon")


def test_by_domain_and_by_mx() -> None:
    assert providers.by_domain("someone@googlemail.com") is providers.get("google")
    assert providers.by_domain("hotmail.com") is providers.get("outlook-com")
    assert providers.by_domain("contoso.onmicrosoft.com") is providers.get("m365")
    assert providers.by_domain("example.com") is None
    assert providers.by_mx(["contoso-com.mail.protection.outlook.com."]) is providers.get("m365")
    assert providers.by_mx(["mx.example.net", "ALT1.ASPMX.L.GOOGLE.COM"]) is providers.get("google")
    assert providers.by_mx(["in1-smtp.messagingengine.com"]) is providers.get("fastmail")
    assert providers.by_mx(["mx.example.net"]) is None


@pytest.mark.parametrize(("mx_host", "provider"), [
    # the MX hosts the providers publish today (and their legacy forms), as dig shows them
    ("gmail-smtp-in.l.google.com.", "google"), ("alt4.gmail-smtp-in.l.google.com", "google"),
    ("aspmx.l.google.com", "google"), ("alt2.aspmx.l.google.com", "google"), ("aspmx3.googlemail.com", "google"),
    ("smtp.google.com", "google"),
    ("contoso-com.mail.protection.outlook.com", "m365"), ("contoso-com.o-v1.mx.microsoft", "m365"),
    ("contoso-com.mail.protection.office365.us", "m365"), ("contoso-com.mail.protection.partner.outlook.cn", "m365"),
    ("outlook-com.olc.protection.outlook.com", "outlook-com"),
    ("hotmail-com.olc.protection.outlook.com", "outlook-com"),
    ("mta5.am0.yahoodns.net", "yahoo"), ("mx01.mail.icloud.com", "icloud"), ("mx.zoho.eu", "zoho"),
    ("mx2.zoho.com", "zoho"), ("in2-smtp.messagingengine.com", "fastmail"), ("mailsec.protonmail.ch", "proton-bridge"),
    ("inbound-smtp.eu-west-1.amazonaws.com", "ses"), ("mxa.eu.mailgun.org", "mailgun"), ("mx.sendgrid.net", "sendgrid"),
])
def test_provider_mx_hosts_map_to_the_provider(mx_host: str, provider: str) -> None:
    assert providers.by_mx([mx_host]) is providers.get(provider)


@pytest.mark.parametrize("mx_host", ["google.com.evil.example", "mail.protection.outlook.com.example.net",
                                     "gmail-smtp-in.l.google.com.example.org", "mx.example.net"])
def test_look_alike_mx_hosts_map_to_nothing(mx_host: str) -> None:
    assert providers.by_mx([mx_host]) is None


def test_dkim_cname_patterns_fill_in_the_domain() -> None:
    m365 = providers.get("m365")
    assert m365.matches_dkim_target("contoso.com", "selector1-contoso-com._domainkey.contoso.onmicrosoft.com")
    assert m365.matches_dkim_target("contoso.com", "selector2-contoso-com._domainkey.contoso.n-v1.dkim.mail.microsoft")
    assert not m365.matches_dkim_target("contoso.com", "selector1-fabrikam-com._domainkey.contoso.onmicrosoft.com")


def test_unknown_id_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: brevo"):
        providers.get("nope")


def _entry(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": "X", "kind": "esp",
                             "smtp": [{"host": "smtp.x.test", "port": 587, "security": "starttls", "auth": "password"}]}
    entry.update(overrides)
    return {"x": entry}


@pytest.mark.parametrize(("document", "message"), [
    (_entry(kind="alien"), "kind 'alien'"),
    (_entry(smtp=[]), "at least one"),
    (_entry(smtp=[{"host": "h", "port": 0, "security": "tls", "auth": "password"}]), "port must be 1-65535"),
    (_entry(smtp=[{"host": "h", "port": 25, "security": "ssl", "auth": "password"}]), "security 'ssl'"),
    (_entry(domains="gmail.com"), "domains must be a list of strings"),
    (_entry(return_path_aligned="yes"), "return_path_aligned must be true or false"),
])
def test_loader_rejects_malformed_entries(document: dict[str, Any], message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(document)


def test_the_file_round_trips_through_the_parser() -> None:
    from importlib import resources

    text = resources.files("wizard").joinpath("resources/providers.toml").read_text(encoding="utf-8")
    assert parse_catalogue(tomllib.loads(text)) == providers.load_catalogue()
