"""The DKIM selector read from a real message's DKIM-Signature (s=), checked against the local DNS server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dns.test_check_domain import run
from wizard.cli import main
from wizard.services.dns_health.dkim_signature import read_signatures, signatures_in
from wizard.services.dns_health.report import Status


def message(*signatures: str) -> bytes:
    headers = "".join(f"DKIM-Signature: {value}\r\n" for value in signatures)
    return (f"Received: from mail.example by mx.example\r\n{headers}From: Ann <ann@hidden.test>\r\n"
            "To: bob@example.net\r\nSubject: test\r\n\r\nbody with DKIM-Signature: v=1; d=fake.test; s=body\r\n"
            ).encode()


def signature(domain: str, selector: str) -> str:
    # folded over two lines, as signers write it
    return (f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain};\r\n\ts={selector}; t=1700000000;\r\n"
            "\th=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==")


def test_selectors_are_read_from_the_headers_only_and_per_domain() -> None:
    raw = message(signature("hidden.test", "x7"), signature("esp.example", "s1"), "v=1; d=hidden.test; s=bad/name",
                  "v=1; d=hidden.test")
    assert [(s.domain, s.selector) for s in signatures_in(raw)] == [("hidden.test", "x7"), ("esp.example", "s1")]
    signed = read_signatures(raw, "Hidden.Test")
    assert signed.selectors == ("x7",) and signed.other_domains == ("esp.example",)
    assert not read_signatures(message(), "hidden.test").signed_for_domain


@pytest.mark.asyncio
async def test_the_selector_of_the_sample_message_is_checked_instead_of_guessed(nameserver: str) -> None:
    dkim = (await run(nameserver, "hidden.test", message=message(signature("hidden.test", "x7")))).check("dkim")

    assert dkim.status is Status.PASS and "selectors: x7" in dkim.summary
    assert "signed for hidden.test with selector x7" in dkim.details


@pytest.mark.asyncio
async def test_a_message_selector_replaces_the_provider_guesses(nameserver: str) -> None:
    # contoso.test publishes selector1 and selector2 (Microsoft 365); the message says only selector2 signs
    dkim = (await run(nameserver, "contoso.test", "m365", message=message(signature("contoso.test", "selector2"))
                      )).check("dkim")

    assert dkim.status is Status.PASS
    assert "selector2._domainkey.contoso.test" in dkim.details
    assert "selector1._domainkey.contoso.test" not in dkim.details


@pytest.mark.asyncio
async def test_a_message_signed_with_an_unpublished_selector_fails_with_the_record_to_publish(
        nameserver: str) -> None:
    dkim = (await run(nameserver, "contoso.test", "m365", message=message(signature("contoso.test", "selector9"))
                      )).check("dkim")

    assert dkim.status is Status.FAIL
    assert "no key is published at selector9._domainkey.contoso.test" in dkim.fix


@pytest.mark.asyncio
async def test_a_message_signed_only_by_another_domain_warns_and_still_probes_the_provider(nameserver: str) -> None:
    dkim = (await run(nameserver, "contoso.test", "m365", message=message(signature("sendgrid.example", "s1"))
                      )).check("dkim")

    assert dkim.status is Status.WARN
    assert "no DKIM signature for contoso.test (signed only by sendgrid.example" in dkim.details
    assert "selector1._domainkey.contoso.test" in dkim.details  # the provider's selectors are still checked


def test_cli_reads_the_message_file(nameserver: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = tmp_path / "test-mail.eml"
    sample.write_bytes(message(signature("hidden.test", "x7")))

    code = main(["dns", "hidden.test", "--nameserver", nameserver, "--message", str(sample), "--json"])

    dkim = next(c for c in json.loads(capsys.readouterr().out)["checks"] if c["id"] == "dkim")
    assert dkim["status"] == "pass" and "x7" in dkim["summary"]
    assert code in (0, 1)
    assert main(["dns", "hidden.test", "--nameserver", nameserver, "--message", str(tmp_path / "none.eml")]) == 2
