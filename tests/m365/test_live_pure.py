"""`m365 show`'s pure parts: the thumbprint Graph returns, Exchange's state from the record, the differences."""

from __future__ import annotations

import base64

from wizard.services.m365.live import LiveKey, LivePermission, compare, exchange_state, thumbprint_of
from wizard.services.m365.record import Grant, Registration

THUMB = "3F9A1C0B7E55D2A4C8E16B90F4D7A2C31E8B5D06"


def _record(mode: str = "graph-app", **values: object) -> Registration:
    settings: dict[str, object] = {"thumbprint": THUMB, "key_id": "k1", "not_after": "2027-12-02T00:00:00+00:00",
                                   "grants": (Grant("Microsoft Graph Mail.Send (application)", "g1"),), **values}
    return Registration("reports", mode, "t", "Mailwright reports", "obj", "app", "sp", "a@example.com",
                        **settings)  # type: ignore[arg-type]


def test_graph_binary_and_hex_thumbprints_read_alike() -> None:
    assert thumbprint_of(base64.b64encode(bytes.fromhex(THUMB)).decode()) == THUMB
    assert thumbprint_of(THUMB.lower()) == THUMB
    assert thumbprint_of("not base64!") == "" and thumbprint_of(None) == ""
    assert thumbprint_of(base64.b64encode(b"short").decode()) == ""


def test_exchange_state_comes_from_the_record_and_says_so() -> None:
    assert exchange_state(_record("smtp-app", pending=("exchange", "check"))).startswith("still to do")
    assert exchange_state(_record("smtp-app")).startswith("done")
    assert "every mailbox" in exchange_state(_record("graph-app"))
    assert all("Graph cannot read Exchange" in exchange_state(_record(m)) for m in ("smtp-app", "graph-app"))
    assert exchange_state(_record("graph-delegated", thumbprint="")) == ""


def test_the_record_matches_an_intact_tenant_even_after_a_key_was_added_by_hand() -> None:
    keys = (LiveKey("k1", THUMB, "Mailwright reports", "2027-12-02", True),
            LiveKey("k9", "AB" * 20, "uploaded in the portal", "2028-01-01", False))

    assert compare(_record(), keys, "sp", (LivePermission("g1", "Microsoft Graph Mail.Send (application)"),)) == ()


def test_every_difference_is_named_with_what_to_do() -> None:
    found = compare(_record(), (LiveKey("k9", "AB" * 20, "", "2028-01-01", False),), "", ())

    assert [d.code for d in found] == ["service_principal_missing", "key_missing", "permission_revoked"]
    assert "mailwright m365 teardown reports --keep-profile" in found[0].text
    assert THUMB in found[1].text and "2027-12-02" in found[1].text
    assert "Grant admin consent" in found[2].text
    [gone] = compare(_record(), (), "", (), app_exists=False)
    assert gone.code == "app_deleted" and "no longer exists in the tenant" in gone.text
    assert compare(_record("graph-delegated", thumbprint="", key_id=""), (), "sp",
                   (LivePermission("g1", "x"),)) == ()  # no certificate to miss in a delegated mode
