"""The plain-text letter for whoever runs the domain's DNS: the records to add or change, and why."""

from __future__ import annotations

from collections.abc import Sequence

from wizard.services.dns_health.report import CheckResult, Recommendation, Status


def _wait(max_ttl: int | None) -> str:
    if not max_ttl:
        return ""
    minutes = max(1, round(max_ttl / 60))
    return (f"\nThe current records are cached for up to {minutes} minute{'s' if minutes != 1 else ''} (their TTL), "
            "so the change may take that long to be visible everywhere.\n")


def build_letter(domain: str, checks: Sequence[CheckResult], recommendations: Sequence[Recommendation],
                 provider_name: str | None = None, max_ttl: int | None = None) -> str:
    problems = [c for c in checks if c.status in (Status.FAIL, Status.WARN)]
    via = f" through {provider_name}" if provider_name else ""
    if not recommendations and not problems:
        return (f"DNS for {domain}: no change is needed. SPF, DKIM and DMARC are in order for e-mail sent{via}.\n")
    lines = [f"Subject: DNS changes needed for e-mail from {domain}", "", "Hello,", "",
             f"We send e-mail as {domain}{via}. So that Gmail, Outlook.com, Yahoo and other receivers accept it "
             f"(they require SPF, DKIM and DMARC), please make the following changes in the DNS zone of {domain}.", ""]
    for number, rec in enumerate(recommendations, start=1):
        lines.append(f"{number}. {rec.record_type} record at {rec.name}")
        lines.append(f"   Value: {rec.value}")
        lines.append(f"   Why:   {rec.why}")
        if rec.record_type == "TXT" and rec.value.startswith("v=spf1"):
            lines.append("   This REPLACES the existing SPF record if there is one: a domain must publish only one.")
        lines.append("")
    if problems:
        lines.append("What the check found:")
        for check in problems:
            lines.append(f"- {check.id.upper()} ({check.status.value}): {check.summary}")
            if check.fix:
                lines.append(f"  To do: {check.fix}")
        lines.append("")
    lines.append(_wait(max_ttl))
    lines.append("Thank you!")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
