"""The port/security pairs the SMTP page warns about (and only those)."""

from __future__ import annotations

import pytest

from wizard.services.model import Security
from wizard.services.port_security import port_security_warning


@pytest.mark.parametrize(("port", "security", "names"), [
    (465, Security.STARTTLS, "Choose SSL/TLS for port 465"),
    (465, Security.NONE, "Choose SSL/TLS for port 465"),
    (587, Security.TLS, "Choose STARTTLS for this port, or port 465"),
    (25, Security.TLS, "Choose STARTTLS for this port"),
    (587, Security.NONE, "choose STARTTLS"),
])
def test_unusual_pairs_name_the_usual_choice(port: int, security: Security, names: str) -> None:
    assert names in port_security_warning(port, security)


@pytest.mark.parametrize(("port", "security"), [
    (465, Security.TLS), (587, Security.STARTTLS), (25, Security.STARTTLS), (25, Security.NONE),
    (2465, Security.STARTTLS), (1025, Security.NONE),
])
def test_usual_or_unknown_pairs_say_nothing(port: int, security: Security) -> None:
    assert port_security_warning(port, security) == ""
