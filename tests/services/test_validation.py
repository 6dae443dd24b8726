from __future__ import annotations

import pytest

from wizard.services import validation
from wizard.services.validation import InvalidInputError


@pytest.mark.parametrize("host", ["smtp.example.com", "SMTP.Example.COM.", "127.0.0.1", "::1", "localhost",
                                  "smtp.bücher.de"])
def test_valid_hosts(host: str) -> None:
    assert validation.validate_host(host)


@pytest.mark.parametrize("host", ["", "bad host", "-bad.example.com", "a" * 64 + ".com", "smtp.example.com\r\n",
                                  "smtp_under.example.com"])
def test_invalid_hosts(host: str) -> None:
    with pytest.raises(InvalidInputError):
        validation.validate_host(host)


@pytest.mark.parametrize(("value", "ok"), [("1", True), ("65535", True), ("0", False), ("65536", False),
                                           ("587a", False), ("", False)])
def test_ports(value: str, ok: bool) -> None:
    if ok:
        assert validation.validate_port(value) == int(value)
    else:
        with pytest.raises(InvalidInputError, match="1 to 65535"):
            validation.validate_port(value)


def test_addresses_are_normalised_and_injection_rejected() -> None:
    assert validation.validate_address(" support@Example.COM ") == "support@example.com"
    with pytest.raises(InvalidInputError, match="line breaks"):
        validation.validate_address("a@example.com\r\nBcc: b@example.com")
    with pytest.raises(InvalidInputError):
        validation.validate_address("not-an-address")
    assert validation.validate_addresses("a@example.com; b@example.com,") == ["a@example.com", "b@example.com"]


def test_tenant_and_client_ids() -> None:
    guid = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    assert validation.validate_guid_or_domain(guid.upper(), "tenant") == guid
    assert validation.validate_guid_or_domain("contoso.onmicrosoft.com", "tenant") == "contoso.onmicrosoft.com"
    assert validation.validate_guid_or_domain("organizations", "tenant") == "organizations"
    with pytest.raises(InvalidInputError, match="GUID"):
        validation.validate_guid("contoso", "client id")
    with pytest.raises(InvalidInputError):
        validation.validate_guid_or_domain("no spaces allowed", "tenant")


def test_loopback() -> None:
    assert validation.is_loopback("127.0.0.1") and validation.is_loopback("::1") and validation.is_loopback("localhost")
    assert not validation.is_loopback("smtp.example.com") and not validation.is_loopback("10.0.0.1")
