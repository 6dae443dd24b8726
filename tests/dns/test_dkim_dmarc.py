"""DKIM key records and DMARC records: the pure parsers and the alignment forecast."""

from __future__ import annotations

import pytest

from tests.dns.zones import KEY_1024, KEY_2048
from wizard.services import providers
from wizard.services.dns_health.dkim import assess_selector, parse_dkim_key
from wizard.services.dns_health.dmarc import AlignmentInputs, forecast, organisational_domain, parse_dmarc
from wizard.services.dns_health.report import Status
from wizard.services.dns_health.resolver import Lookup, LookupStatus


def key_lookup(text: str, cname: str = "") -> Lookup:
    name = "s._domainkey.example.test"
    return Lookup(name, "TXT", LookupStatus.OK, (text,), 300, cname or name)


@pytest.mark.parametrize(("record", "status", "note"), [
    (f"v=DKIM1; k=rsa; p={KEY_2048}", Status.PASS, "rsa 2048-bit key"),
    (f"v=DKIM1; k=rsa; p={KEY_1024}", Status.WARN, "1024-bit key: rotate to 2048 bits"),
    (f"v=DKIM1; k=rsa; t=y; p={KEY_2048}", Status.WARN, "t=y (testing)"),
    ("v=DKIM1; k=rsa; p=", Status.FAIL, "key revoked"),
    ("v=DKIM1; k=rsa; p=bm90IGEga2V5", Status.FAIL, "p= is not a valid rsa public key"),
    (f"v=DKIM2; p={KEY_2048}", Status.FAIL, "v=DKIM2 (must be DKIM1)"),
])
def test_selector_verdicts(record: str, status: Status, note: str) -> None:
    result = assess_selector("s", key_lookup(record), "example.test", None)
    assert result.status is status
    assert note in result.note


def test_key_split_over_several_strings_is_joined_before_decoding() -> None:
    spaced = f"v=DKIM1; k=rsa; p={KEY_2048[:100]} {KEY_2048[100:]}"
    assert parse_dkim_key(spaced).bits == 2048


def test_microsoft_cname_targets_both_forms_accepted_others_flagged() -> None:
    m365 = providers.get("m365")
    good = assess_selector("selector1", key_lookup(f"p={KEY_2048}",
                                                   "selector1-example-test._domainkey.fabrikam.onmicrosoft.com"),
                           "example.test", m365)
    new = assess_selector("selector2", key_lookup(f"p={KEY_2048}",
                                                  "selector2-example-test._domainkey.fabrikam.n-v1.dkim.mail.microsoft"),
                          "example.test", m365)
    bad = assess_selector("selector1", key_lookup(f"p={KEY_2048}", "selector1.elsewhere.example"), "example.test",
                          m365)
    assert (good.status, new.status, bad.status) == (Status.PASS, Status.PASS, Status.WARN)


def test_cname_to_nothing_fails() -> None:
    lookup = Lookup("selector1._domainkey.example.test", "TXT", LookupStatus.NXDOMAIN,
                    canonical_name="selector1-example-test._domainkey.fabrikam.onmicrosoft.com")
    result = assess_selector("selector1", lookup, "example.test", providers.get("m365"))
    assert result.status is Status.FAIL and "has no key yet" in result.note


@pytest.mark.parametrize(("record", "error"), [
    ("v=DMARC1; p=bogus", "p=bogus is not none, quarantine or reject"),
    ("v=DMARC1; p=none; pct=200", "pct=200 is not a whole number from 0 to 100"),
    ("v=DMARC1; p=none; sp=maybe", "sp=maybe is not none"),
    ("v=DMARC1; p=none; adkim=x", "adkim=x is not r (relaxed) or s (strict)"),
    ("v=DMARC1; p=none; rua=dmarc@example.test", "is not a URI"),
    ("v=DMARC1; p=none; rua=mailto:nobody", "is not a valid mailto: address"),
    ("v=DMARC1; p=none; fo=2", "fo=2 must be 0, 1, d or s"),
    ("p=none; v=DMARC1", "must start with v=DMARC1"),
    ("v=DMARC1; rua=mailto:a@example.test", "p= (the policy) is required"),
    ("v=DMARC1; p=none; p=reject", "tag p= appears more than once"),
])
def test_dmarc_errors(record: str, error: str) -> None:
    errors = parse_dmarc(record).errors
    assert any(error in e for e in errors), errors


def test_valid_dmarc_record() -> None:
    record = parse_dmarc("v=DMARC1; p=quarantine; sp=reject; pct=50; adkim=s; aspf=r; "
                         "rua=mailto:a@example.test,mailto:b@example.net!10m; ruf=mailto:f@example.test; fo=1:d")
    assert record.errors == ()
    assert record.policy == "quarantine"
    assert record.warnings == ("pct=50: the policy applies to 50% of failing mail only",)


def test_organisational_domain() -> None:
    assert organisational_domain("mail.example.com") == "example.com"
    assert organisational_domain("mail.example.co.uk") == "example.co.uk"


@pytest.mark.parametrize(("provider", "spf", "selectors", "policy", "status"), [
    ("m365", True, (), "reject", Status.PASS),             # SPF aligns: Return-Path is the customer's domain
    ("mailchimp", True, (), "reject", Status.FAIL),        # Return-Path is mcsv.net: only DKIM could align
    ("mailchimp", True, ("k2",), "reject", Status.PASS),
    ("ses", False, (), "none", Status.WARN),
    ("ses", False, (), "quarantine", Status.FAIL),
])
def test_alignment_forecast(provider: str, spf: bool, selectors: tuple[str, ...], policy: str,
                            status: Status) -> None:
    inputs = AlignmentInputs(providers.get(provider), spf, selectors)
    assert forecast(parse_dmarc(f"v=DMARC1; p={policy}"), inputs, subdomain=False)[0] is status
