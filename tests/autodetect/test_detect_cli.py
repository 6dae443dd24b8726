"""`mailwright detect`: JSON with "ok", plain text that shows where each proposal came from, exit codes."""

from __future__ import annotations

import functools
import json

import pytest

import wizard.services.autodetect
from tests.autodetect.conftest import AutoconfigServer, connect_to_for
from wizard.cli import main


@pytest.fixture
def local_network(monkeypatch: pytest.MonkeyPatch, autoconfig_server: AutoconfigServer, ca_file: str) -> None:
    """The command's own detect(), with every name it may contact mapped to loopback (nothing leaves the machine)."""
    real_detect = wizard.services.autodetect.detect

    async def detect_on_loopback(address: str, **kwargs: object) -> wizard.services.autodetect.Detection:
        domain = address.rpartition("@")[2]
        return await functools.partial(real_detect, http_ca_file=ca_file, smtp_ca_file=ca_file,
                                       connect_to=connect_to_for(domain, https_port=autoconfig_server.port))(
            address, **kwargs)

    monkeypatch.setattr(wizard.services.autodetect, "detect", detect_on_loopback)


@pytest.mark.usefixtures("local_network")
def test_detect_json_lists_proposals_with_their_source(nameserver: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["detect", "billing@contoso.example.test", "--nameserver", nameserver, "--json"])

    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["ok"] is True
    assert payload["proposals"][0]["provider_kind"] == "m365-smtp"
    assert payload["proposals"][0]["source"] == "mx"
    assert {s["source"]: s["status"] for s in payload["sources"]} == {
        "catalogue": "nothing", "mx": "found", "autoconfig": "nothing", "probe": "skipped"}


@pytest.mark.usefixtures("local_network")
def test_detect_text_says_why_and_exits_1_when_nothing_is_found(nameserver: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "billing@contoso.example.test", "--nameserver", nameserver]) == 0
    out = capsys.readouterr().out
    assert "1. m365-smtp: smtp.office365.com:587 starttls, AUTH XOAUTH2" in out
    assert "why: MX record contoso-example-test.mail.protection.outlook.com matches Microsoft 365 [mx]" in out

    assert main(["detect", "ann@probe.example.test", "--nameserver", nameserver]) == 1
    out = capsys.readouterr().out
    assert "No provider found" in out
    assert "smtp.probe.example.test:465: connection refused" in out


@pytest.mark.parametrize("argv", [["detect", "not-an-address", "--json"],
                                  ["detect", "ann@example.test", "--nameserver", "dns.example.test", "--json"]])
def test_detect_bad_input_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False and payload["diagnosis"]["code"] == "invalid_input"
