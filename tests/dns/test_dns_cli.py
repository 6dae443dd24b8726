"""`mailwright dns` as the admin runs it: a subprocess against the loopback DNS server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dns.server import dns_server
from tests.dns.zones import ZONE
from wizard.services.config import ConfigStore
from wizard.services.model import Profile, ProviderKind

pytestmark = pytest.mark.slow


def mailwright(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAILWRIGHT_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "wizard", "dns", *args], capture_output=True, text=True,
                          timeout=60, env=env, check=False)


def test_good_domain_exits_0_with_the_json_contract(nameserver: str, data_home: Path) -> None:
    result = mailwright("contoso.test", "--provider", "m365", "--nameserver", nameserver, "--json", home=data_home)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is True and payload["domain"] == "contoso.test"
    assert {c["id"]: c["status"] for c in payload["checks"]}["dkim"] == "pass"


def test_failing_domain_exits_1_with_the_merged_record(nameserver: str, data_home: Path) -> None:
    result = mailwright("googleonly.test", "--provider", "m365-smtp", "--nameserver", nameserver, "--json",
                        home=data_home)
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    spf = next(r for r in payload["recommendations"] if r["record_type"] == "TXT" and r["name"] == "googleonly.test")
    assert spf["value"] == "v=spf1 include:_spf.google.com include:spf.protection.outlook.com ~all"
    assert "v=spf1 include:_spf.google.com include:spf.protection.outlook.com ~all" in payload["letter"]


def test_plain_text_is_a_traffic_light_list(nameserver: str, data_home: Path) -> None:
    result = mailwright("plusall.test", "--nameserver", nameserver, home=data_home)
    assert result.returncode == 1
    assert "[ FAIL ] spf" in result.stdout
    assert "'+all' authorises every server" in result.stdout


def test_letter_option_prints_the_letter(nameserver: str, data_home: Path) -> None:
    result = mailwright("bare.test", "--provider", "google", "--nameserver", nameserver, "--letter", home=data_home)
    assert result.returncode == 1
    assert result.stdout.startswith("Subject: DNS changes needed for e-mail from bare.test")
    assert "v=spf1 include:_spf.google.com ~all" in result.stdout


def test_profile_name_as_provider(nameserver: str, data_home: Path) -> None:
    ConfigStore(data_home).save_profile(Profile(name="office", provider=ProviderKind.M365_SMTP,
                                                from_address="app@contoso.test", host="smtp.office365.com"))
    result = mailwright("contoso.test", "--provider", "office", "--nameserver", nameserver, "--json",
                        home=data_home)
    assert result.returncode == 0, result.stdout
    assert "Microsoft 365" in json.loads(result.stdout)["checks"][0]["summary"]


def test_dns_failure_exits_1_with_dns_failed(servfail_nameserver: str, data_home: Path) -> None:
    result = mailwright("contoso.test", "--nameserver", servfail_nameserver, "--json", home=data_home)
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["diagnosis"]["code"] == "dns_failed"
    assert {c["status"] for c in payload["checks"]} == {"error"}


@pytest.mark.parametrize("args", [("not a domain",), ("contoso.test", "--provider", "nope"),
                                  ("contoso.test", "--nameserver", "dns.example:53"),
                                  ("contoso.test", "--sending-ip", "300.0.0.1")])
def test_bad_input_exits_2(args: tuple[str, ...], data_home: Path) -> None:
    result = mailwright(*args, "--json", home=data_home)
    assert result.returncode == 2
    assert json.loads(result.stdout)["diagnosis"]["code"] == "invalid_input"


def test_dns_command_does_not_import_qt() -> None:
    code = ("import sys\nfrom wizard.cli import main\n"
            "try:\n    main(['dns', 'x..', '--json'])\nexcept SystemExit:\n    pass\n"
            "print(any(m.startswith('PySide6') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip().endswith("False")


def test_several_domains_give_a_list_of_reports_and_fail_if_any_fails(nameserver: str, data_home: Path) -> None:
    result = mailwright("contoso.test", "googleonly.test", "CONTOSO.test", "--provider", "m365",
                        "--nameserver", nameserver, "--json", home=data_home)
    assert result.returncode == 1, result.stderr
    reports = json.loads(result.stdout)
    assert [(r["domain"], r["ok"]) for r in reports] == [("contoso.test", True), ("googleonly.test", False)]


def test_several_domains_in_plain_text_end_with_which_fail(nameserver: str, data_home: Path) -> None:
    result = mailwright("contoso.test", "plusall.test", "--nameserver", nameserver, home=data_home)
    assert result.returncode == 1
    assert result.stdout.count("DNS health of ") == 2
    assert result.stdout.rstrip().endswith("Failing: plusall.test.")


def test_one_bad_domain_among_several_is_refused_before_any_lookup(data_home: Path) -> None:
    with dns_server(ZONE) as (address, server):
        result = mailwright("contoso.test", "not a domain", "--nameserver", address, "--json", home=data_home)
        assert result.returncode == 2
        assert "'not a domain'" in json.loads(result.stdout)["diagnosis"]["explanation"]
        assert server.queries == []


def test_several_domains_are_checked_at_the_same_time(data_home: Path) -> None:
    # 20 ms per answer: if the domains were checked one after the other, every query of the first domain would
    # come before the first query of the second.
    with dns_server(ZONE, latency_s=0.02) as (address, server):
        result = mailwright("contoso.test", "googleonly.test", "--nameserver", address, "--json", home=data_home)
        assert result.returncode == 0, result.stderr
        asked = [name for name, _type in server.queries]
    first_of_second = next(i for i, name in enumerate(asked) if name.endswith("googleonly.test"))
    last_of_first = max(i for i, name in enumerate(asked) if name.endswith("contoso.test"))
    assert first_of_second < last_of_first


def test_dns_command_loads_only_what_the_checks_need() -> None:
    code = ("import sys\nfrom wizard.cli import main\n"
            "try:\n    main(['dns', 'x..', '--json'])\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'httpx', 'httpcore', 'anyio', 'aiosmtplib', "
            "'cryptography', 'msal', 'keyring', 'PySide6', 'aiosmtpd', 'tomlkit'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
