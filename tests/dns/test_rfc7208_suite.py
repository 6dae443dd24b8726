"""The openspf.org RFC 7208 test suite (from pyspf, BSD licence: data/rfc7208-tests.LICENSE) as an oracle for
check_host(). Each scenario's zone is served by an injected fake resolver; the result must be one of those the
suite accepts. Explanations (exp=) are not evaluated: Mailwright never sends mail that needs one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wizard.services.dns_health.resolver import Lookup, LookupStatus
from wizard.services.dns_health.spf_eval import check_host

SUITE = json.loads((Path(__file__).parent / "data" / "rfc7208-tests.json").read_text(encoding="utf-8"))

def _value(rtype: str, value: Any) -> str:
    if rtype in ("TXT", "SPF"):
        return "".join(value) if isinstance(value, list) else str(value)
    if rtype == "MX":
        return f"{value[0]} {str(value[1]).lower().rstrip('.')}"
    return str(value).lower().rstrip(".") if rtype in ("CNAME", "PTR") else str(value)


class SuiteResolver:
    """The scenario's zonedata: SPF records double as TXT when no TXT is given, TIMEOUT entries time out."""

    def __init__(self, zonedata: dict[str, list[Any]]) -> None:
        self.zone: dict[str, list[tuple[str, str]]] = {}
        self.timeouts: set[tuple[str, str]] = set()
        for name, entries in zonedata.items():
            key = name.lower().rstrip(".")
            records: list[tuple[str, str]] = []
            types: set[str] = set()
            for entry in entries:
                if entry == "TIMEOUT":
                    self.timeouts.add((key, "*"))
                    continue
                for rtype, value in entry.items():
                    types.add(rtype)
                    if value == "TIMEOUT":
                        self.timeouts.add((key, rtype))
                    elif value != "NONE":
                        records.append((rtype, _value(rtype, value)))
            if "TXT" not in types:
                records += [("TXT", v) for t, v in records if t == "SPF"]
            self.zone[key] = records

    async def lookup(self, name: str, rdtype: str, depth: int = 0) -> Lookup:
        key = name.lower().rstrip(".")
        records_of_type = [v for t, v in self.zone.get(key, []) if t == rdtype]
        whole_name_times_out = (key, "*") in self.timeouts and not records_of_type
        if whole_name_times_out or (key, rdtype) in self.timeouts or key.startswith("error."):
            return Lookup(name, rdtype, LookupStatus.ERROR, error="timeout")
        if any(len(label) > 63 for label in key.split(".")):
            return Lookup(name, rdtype, LookupStatus.ERROR, error="label too long")
        if key not in self.zone:
            return Lookup(name, rdtype, LookupStatus.NXDOMAIN)
        records = self.zone[key]
        cname = next((v for t, v in records if t == "CNAME"), None)
        if cname and rdtype != "CNAME":
            if depth > 8:
                return Lookup(name, rdtype, LookupStatus.ERROR, error="CNAME loop")
            target = await self.lookup(cname, rdtype, depth + 1)
            return Lookup(name, rdtype, target.status, target.records, target.ttl, cname, target.error)
        found = tuple(v for t, v in records if t == rdtype)
        return Lookup(name, rdtype, LookupStatus.OK if found else LookupStatus.NODATA, found, 300, key)


CASES = [pytest.param(scenario, test_id, data, id=test_id)
         for scenario in SUITE for test_id, data in scenario["tests"].items()]


@pytest.mark.asyncio
@pytest.mark.parametrize(("scenario", "test_id", "data"), CASES)
async def test_rfc7208_suite(scenario: dict[str, Any], test_id: str, data: dict[str, Any]) -> None:
    mailfrom, helo = str(data.get("mailfrom", "")), str(data.get("helo", ""))
    sender = mailfrom or f"postmaster@{helo}"
    if "@" not in sender:
        sender = f"postmaster@{sender}"
    local, _, domain = sender.rpartition("@")
    if not local:
        sender = f"postmaster@{domain}"
    expected = data["result"] if isinstance(data["result"], list) else [data["result"]]
    result = await check_host(SuiteResolver(scenario.get("zonedata", {})), str(data["host"]), domain, sender,
                              helo=helo)
    assert result.value in expected, f"{test_id} ({data.get('spec')}): {result.value} not in {expected}"
