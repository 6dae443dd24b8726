"""Verified TLS contexts are built once per CA file and reused by every connection attempt (loading a trust store
costs tens of milliseconds on the event loop); a changed CA file is read again, a broken one is named each time."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from wizard.services.errors import TransportError
from wizard.services.transports.smtp_errors import atls_context, tls_context


def _subjects(context: object) -> set[str]:
    certs = context.get_ca_certs()  # type: ignore[attr-defined]
    return {dict(pair[0] for pair in cert["subject"]).get("organizationalUnitName", "") for cert in certs}


def test_the_same_ca_file_gives_the_same_context_until_the_file_changes(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    first_ca, second_ca = trustme.CA(organization_unit_name="first"), trustme.CA(organization_unit_name="second")
    first_ca.cert_pem.write_to_path(str(ca_file))
    context = tls_context(str(ca_file))
    assert tls_context(str(ca_file)) is context
    assert _subjects(context) == {"first"}
    second_ca.cert_pem.write_to_path(str(ca_file))
    changed = tls_context(str(ca_file))
    assert changed is not context and _subjects(changed) == {"second"}


def test_a_missing_ca_file_is_named_every_time_and_used_once_it_exists(tmp_path: Path) -> None:
    ca_file = tmp_path / "missing.pem"
    for _ in range(2):
        with pytest.raises(TransportError) as raised:
            tls_context(str(ca_file))
        assert raised.value.code == "ca_file_unreadable"
    trustme.CA(organization_unit_name="late").cert_pem.write_to_path(str(ca_file))
    assert _subjects(tls_context(str(ca_file))) == {"late"}


@pytest.mark.asyncio
async def test_the_loop_gets_the_cached_context_or_one_built_on_a_worker_thread(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    trustme.CA(organization_unit_name="async").cert_pem.write_to_path(str(ca_file))
    built = await atls_context(str(ca_file))
    assert _subjects(built) == {"async"}
    assert await atls_context(str(ca_file)) is built is tls_context(str(ca_file))
    assert await atls_context() is tls_context()  # the system store: one context for every connection
