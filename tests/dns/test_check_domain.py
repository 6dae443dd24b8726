"""check_domain against a real DNS server on loopback: one test zone per situation the admin can be in."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.dns.zones import TOOMANY_SPF
from tests.fixtures.smtp_servers import SmtpServerFactory
from wizard.services.dns_health import CheckResult, HealthReport, Lookup, Status, check_domain
from wizard.services.validation import InvalidInputError


async def run(nameserver: str, domain: str, provider: str | None = None, **kwargs: object) -> HealthReport:
    return await check_domain(domain, provider=provider, nameserver=nameserver, timeout_s=2.0, **kwargs)  # type: ignore[arg-type]


def statuses(report: HealthReport) -> dict[str, str]:
    return {c.id: c.status.value for c in report.checks}


def values(report: HealthReport, record_type: str) -> dict[str, str]:
    return {r.name: r.value for r in report.recommendations if r.record_type == record_type}


@pytest.mark.asyncio
async def test_correct_microsoft_365_domain_passes_everything(nameserver: str) -> None:
    report = await run(nameserver, "contoso.test", "m365")
    assert report.ok
    assert {k: v for k, v in statuses(report).items() if k in ("spf", "dkim", "dmarc", "mx", "sender_rules")} == {
        "spf": "pass", "dkim": "pass", "dmarc": "pass", "mx": "pass", "sender_rules": "pass"}
    dkim = report.check("dkim")
    assert "CNAME to selector1-contoso-test._domainkey.contoso.onmicrosoft.com" in dkim.details
    assert "CNAME to selector2-contoso-test._domainkey.contoso.r-v1.dkim.mail.microsoft" in dkim.details
    assert "2048-bit" in dkim.details
    assert report.recommendations == ()
    assert report.max_ttl == 3600
    assert "no change is needed" in report.letter


@pytest.mark.asyncio
async def test_domain_without_spf_and_dmarc_gets_records_to_publish(nameserver: str) -> None:
    report = await run(nameserver, "bare.test", "m365")
    assert not report.ok
    assert statuses(report)["spf"] == "fail" and statuses(report)["dmarc"] == "fail"
    assert statuses(report)["dkim"] == "fail"
    assert report.check("spf").summary == "No SPF record"
    txt = values(report, "TXT")
    assert txt["bare.test"] == "v=spf1 include:spf.protection.outlook.com ~all"
    assert txt["_dmarc.bare.test"] == "v=DMARC1; p=none; rua=mailto:dmarc-reports@bare.test"
    tenant = "<value shown by the provider>"
    assert values(report, "CNAME") == {
        "selector1._domainkey.bare.test": f"selector1-bare-test._domainkey.{tenant}.onmicrosoft.com",
        "selector2._domainkey.bare.test": f"selector2-bare-test._domainkey.{tenant}.onmicrosoft.com"}
    assert "_domainkey.bare.test does not exist (NXDOMAIN)" in report.check("dkim").details
    assert "v=spf1 include:spf.protection.outlook.com ~all" in report.letter


@pytest.mark.asyncio
async def test_two_spf_records_are_a_permerror_folded_into_one(nameserver: str) -> None:
    report = await run(nameserver, "twospf.test", "m365")
    spf = report.check("spf")
    assert spf.status is Status.FAIL
    assert "2 SPF records are published" in spf.details
    assert values(report, "TXT")["twospf.test"] == (
        "v=spf1 include:_spf.google.com ip4:192.0.2.0/24 include:spf.protection.outlook.com ~all")
    assert "5 of 10 DNS lookups" in report.recommendations[0].why


@pytest.mark.asyncio
async def test_more_than_ten_lookups_fails_with_the_count(nameserver: str) -> None:
    report = await run(nameserver, "toomany.test")
    spf = report.check("spf")
    assert spf.status is Status.FAIL
    assert "DNS lookups: 12 of 10" in spf.details


@pytest.mark.asyncio
async def test_merge_over_the_limit_suggests_an_intermediate_record(nameserver: str) -> None:
    report = await run(nameserver, "toomany.test", "sendgrid")
    txt = values(report, "TXT")
    assert txt["toomany.test"] == ("v=spf1 a mx include:_spf.google.com include:sendgrid.net "
                                   "include:_spf-ips.toomany.test -all")
    assert txt["_spf-ips.toomany.test"] == (
        "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 "
        "ip4:198.51.100.1/32 ip4:198.51.100.2/32 ip4:198.51.100.3/32 ip4:198.51.100.4/32 ip4:198.51.100.5/32 -all")
    assert "13 lookups" in report.check("spf").details
    assert "8 of 10" in next(r.why for r in report.recommendations if r.name == "toomany.test")
    # SendGrid's Return-Path is its own: the include is not what makes DMARC pass
    assert "DKIM alignment" in report.check("spf").details
    assert TOOMANY_SPF not in txt.values()


@pytest.mark.asyncio
async def test_three_void_lookups_fail(nameserver: str) -> None:
    spf = (await run(nameserver, "voids.test")).check("spf")
    assert spf.status is Status.FAIL
    assert "names that answered nothing (void lookups): 3 of 2 allowed" in spf.details
    assert "3 names in the record answered nothing (void lookups): more than the 2 RFC 7208 allows" in spf.details


@pytest.mark.asyncio
async def test_plus_all_fails(nameserver: str) -> None:
    spf = (await run(nameserver, "plusall.test", "m365")).check("spf")
    assert spf.status is Status.FAIL
    assert "'+all' authorises every server" in spf.details


@pytest.mark.asyncio
async def test_malformed_dmarc_fails_naming_each_bad_tag(nameserver: str) -> None:
    report = await run(nameserver, "baddmarc.test", "m365")
    dmarc = report.check("dmarc")
    assert dmarc.status is Status.FAIL
    assert "p=bogus is not none, quarantine or reject" in dmarc.details
    assert "pct=200 is not a whole number from 0 to 100" in dmarc.details
    assert report.check("spf").status is Status.PASS


@pytest.mark.asyncio
async def test_revoked_dkim_key_fails(nameserver: str) -> None:
    report = await run(nameserver, "revoked.test", "m365")
    dkim = report.check("dkim")
    assert dkim.status is Status.FAIL
    assert "key revoked (empty p=)" in dkim.details
    assert report.check("dmarc").status is Status.WARN  # p=none


@pytest.mark.asyncio
async def test_google_only_spf_checked_for_microsoft_365_gets_the_exact_merged_record(nameserver: str) -> None:
    report = await run(nameserver, "googleonly.test", "m365-smtp")
    spf = report.check("spf")
    assert spf.status is Status.FAIL
    assert "Microsoft 365 is NOT authorised" in spf.details
    assert values(report, "TXT")["googleonly.test"] == (
        "v=spf1 include:_spf.google.com include:spf.protection.outlook.com ~all")
    # DMARC quarantine, no DKIM for Microsoft 365, SPF not yet authorised: the forecast fails before any send
    dmarc = report.check("dmarc")
    assert dmarc.status is Status.FAIL
    assert "will FAIL DMARC" in dmarc.details and "junked" in dmarc.details


@pytest.mark.asyncio
async def test_google_only_spf_passes_for_google(nameserver: str) -> None:
    report = await run(nameserver, "googleonly.test", "google")
    assert statuses(report)["spf"] == "pass" and statuses(report)["dkim"] == "pass"
    assert statuses(report)["dmarc"] == "pass"
    assert "DNS lookups: 4 of 10" in report.check("spf").details


@pytest.mark.asyncio
async def test_redirect_chain_is_followed_and_the_merge_goes_into_the_target(nameserver: str) -> None:
    report = await run(nameserver, "redirect.test", "m365")
    assert report.check("spf").status is Status.FAIL
    assert values(report, "TXT")["_spf.redirect.test"] == (
        "v=spf1 include:_spf.google.com include:spf.protection.outlook.com ~all")
    assert "redirect.test" not in values(report, "TXT")
    google = await run(nameserver, "redirect.test", "google")
    assert google.check("spf").status is Status.PASS
    assert "DNS lookups: 5 of 10" in google.check("spf").details


@pytest.mark.asyncio
async def test_cnamed_selector_to_an_unexpected_target_is_flagged(nameserver: str) -> None:
    dkim = (await run(nameserver, "badcname.test", "m365")).check("dkim")
    assert dkim.status is Status.WARN
    assert "CNAME target matches neither expected form" in dkim.details


@pytest.mark.asyncio
async def test_unguessable_selector_is_hinted_then_checked_when_given(nameserver: str) -> None:
    unknown = (await run(nameserver, "hidden.test")).check("dkim")
    assert unknown.status is Status.WARN
    assert "hidden.test publishes signing keys, but under names (DKIM selectors) not checked here" in unknown.details
    given = (await run(nameserver, "hidden.test", selectors=["x7"])).check("dkim")
    assert given.status is Status.PASS and "selectors: x7" in given.summary
    missing = (await run(nameserver, "hidden.test", selectors=["x8"])).check("dkim")
    assert missing.status is Status.FAIL


@pytest.mark.asyncio
async def test_esp_without_dkim_under_reject_fails_the_alignment_forecast(nameserver: str) -> None:
    report = await run(nameserver, "chimp.test", "mailchimp")
    assert report.check("dkim").status is Status.FAIL
    dmarc = report.check("dmarc")
    assert dmarc.status is Status.FAIL
    assert "With p=reject it will be rejected" in dmarc.details


@pytest.mark.asyncio
async def test_extra_sending_ips_are_checked_and_merged(nameserver: str) -> None:
    report = await run(nameserver, "generic.test", sending_ips=["192.0.2.25", "203.0.113.7"])
    spf = report.check("spf")
    assert spf.status is Status.FAIL
    assert "Sending IP 192.0.2.25: authorised" in spf.details
    assert "Sending IP 203.0.113.7: NOT authorised (fail)" in spf.details
    assert values(report, "TXT")["generic.test"] == "v=spf1 mx ip4:203.0.113.7 -all"
    ptr = report.check("ptr")
    assert ptr.status is Status.WARN
    assert "192.0.2.25 -> mail.generic.test -> 192.0.2.25 (forward-confirmed)" in ptr.details
    assert "203.0.113.7: no PTR record" in ptr.details


@pytest.mark.asyncio
async def test_ptr_mechanism_and_big_record_warn(nameserver: str) -> None:
    spf = (await run(nameserver, "big.test")).check("spf")
    assert spf.status is Status.WARN
    assert "(456 bytes)" in spf.details and "'ptr' is deprecated" in spf.details


@pytest.mark.asyncio
async def test_generic_smtp_host_submission_tls_and_spf(nameserver: str, smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls")
    report = await run(nameserver, "generic.test", smtp_host=server.host, smtp_port=server.port,
                       ca_file=server.ca_file)
    tls = report.check("submission_tls")
    assert tls.status is Status.PASS, tls.details
    assert "negotiated, certificate valid" in tls.details
    assert values(report, "TXT")["generic.test"] == "v=spf1 mx ip4:127.0.0.1 -all"


@pytest.mark.asyncio
async def test_submission_tls_with_an_untrusted_certificate_fails(nameserver: str,
                                                                 smtp_server: SmtpServerFactory) -> None:
    server = smtp_server("starttls", certificate="untrusted")
    report = await run(nameserver, "contoso.test", "m365", smtp_host=server.host, smtp_port=server.port,
                       ca_file=server.ca_file)
    assert report.check("submission_tls").status is Status.FAIL


@pytest.mark.asyncio
async def test_bulk_volume_requires_spf_and_dkim(nameserver: str) -> None:
    report = await run(nameserver, "revoked.test", "m365", daily_volume=20000)
    rules = report.check("sender_rules")
    assert rules.status is Status.FAIL
    assert "DKIM" in rules.summary and "550 5.7.515" in rules.details
    small = await run(nameserver, "revoked.test", "m365", daily_volume=100)
    assert small.check("sender_rules").status is Status.PASS


@pytest.mark.asyncio
async def test_servfail_is_an_error_never_missing(servfail_nameserver: str) -> None:
    report = await run(servfail_nameserver, "contoso.test", "m365")
    assert not report.ok and report.dns_failed
    for check_id in ("spf", "dkim", "dmarc", "mx", "sender_rules"):
        assert report.check(check_id).status is Status.ERROR, check_id
    assert "dns_failed" in report.check("spf").summary
    assert "SERVFAIL" in report.check("spf").details
    assert report.recommendations == ()


@pytest.mark.asyncio
async def test_silent_server_times_out_as_error_without_hanging(silent_nameserver: str) -> None:
    started = time.monotonic()
    report = await check_domain("contoso.test", provider="m365", nameserver=silent_nameserver, timeout_s=0.3)
    elapsed = time.monotonic() - started
    assert elapsed < 3, "queries must run concurrently and give up at the timeout"
    assert {c.status for c in report.checks} == {Status.ERROR}
    assert "timeout" in report.check("spf").details
    assert report.to_json()["ok"] is False


@pytest.mark.asyncio
async def test_progress_reports_every_check_once(nameserver: str) -> None:
    seen: list[CheckResult] = []
    report = await run(nameserver, "contoso.test", "m365", on_progress=seen.append)
    assert sorted(c.id for c in seen) == sorted(c.id for c in report.checks)


@pytest.mark.asyncio
async def test_json_has_exactly_the_contract_keys(nameserver: str) -> None:
    payload = (await run(nameserver, "googleonly.test", "m365")).to_json()
    assert set(payload) == {"ok", "domain", "checks", "recommendations", "letter"}
    assert all(set(c) == {"id", "status", "summary", "details", "fix"} for c in payload["checks"])
    assert all(set(r) == {"record_type", "name", "value", "why"} for r in payload["recommendations"])


@pytest.mark.asyncio
async def test_each_run_has_its_own_cache(nameserver: str) -> None:
    first = await run(nameserver, "contoso.test", "m365")
    second = await run(nameserver, "contoso.test", "m365")
    assert first.queries == second.queries > 0


class BlockingResolver:
    """Every lookup waits forever; records which ones were cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = 0
        self.calls = 0

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        self.calls += 1
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise AssertionError("unreachable")


@pytest.mark.asyncio
async def test_cancelling_the_check_cancels_every_lookup() -> None:
    resolver = BlockingResolver()
    task = asyncio.create_task(check_domain("contoso.test", provider="m365", resolver=resolver))
    await resolver.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert resolver.calls > 5 and resolver.cancelled == resolver.calls


@pytest.mark.asyncio
@pytest.mark.parametrize(("kwargs", "field"), [({"domain": "not a domain"}, "domain"),
                                               ({"provider": "nope"}, "provider"),
                                               ({"nameserver": "localhost:99999"}, "nameserver"),
                                               ({"sending_ips": ["300.1.1.1"]}, "sending ip")])
async def test_bad_input_is_invalid_input(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"domain": "contoso.test", **kwargs}
    with pytest.raises(InvalidInputError) as caught:
        await check_domain(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field
