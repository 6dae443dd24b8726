"""Mailbox-provider sender requirements (Google and Yahoo since February 2024, Microsoft's Outlook.com since
May 2025): which apply at the expected daily volume, and whether this domain meets them."""

from __future__ import annotations

from wizard.services.dns_health.report import CheckResult, Status

BULK_THRESHOLD = 5000  # messages a day to one mailbox provider's users


def assess_sender_rules(daily_volume: int | None, spf: Status, dkim: Status, dmarc: Status, *,
                        dkim_usable: bool) -> CheckResult:
    """Pure: the statuses of the spf, dkim and dmarc checks against the rules for this volume."""
    spf_ok = spf in (Status.PASS, Status.WARN)
    dkim_ok = dkim in (Status.PASS, Status.WARN) and dkim_usable
    dmarc_ok = dmarc in (Status.PASS, Status.WARN)
    lines = ["All senders (Google, Yahoo): SPF or DKIM passing; each sending server's address has a name that "
             "points back to it (forward and reverse DNS); encrypted delivery (TLS); and fewer than 0.3% of the "
             "messages marked as spam by their readers (the spam rate in Google Postmaster Tools, Google's free "
             "dashboard for senders)."]
    missing = [] if spf_ok or dkim_ok else ["SPF or DKIM"]
    if not (spf_ok or dkim_ok) and Status.ERROR in (spf, dkim):
        return CheckResult("sender_rules", Status.ERROR, "Sender rules could not be assessed (dns_failed)",
                           "\n".join(lines), "Check again when the domain's DNS answers.")
    bulk = daily_volume is not None and daily_volume >= BULK_THRESHOLD
    if daily_volume is None:
        lines.append(f"Enter how many messages a day you expect to send (the field on the DNS page, or --volume for "
                     f"mailwright dns) to know whether the stricter rules for bulk senders ({BULK_THRESHOLD} or more "
                     "a day) apply.")
    elif bulk:
        lines.append(f"Bulk sender ({daily_volume}/day >= {BULK_THRESHOLD}): Google and Yahoo require SPF AND DKIM, "
                     "DMARC (p=none at least) aligned with the From domain, and one-click unsubscribe in "
                     "marketing mail (the List-Unsubscribe-Post header, RFC 8058).")
        lines.append("Outlook.com / Hotmail / Live.com: SPF and DKIM must both pass and DMARC (p=none at least) must "
                     "be published, else mail is rejected with 550 5.7.515.")
        missing = [name for name, ok in (("SPF", spf_ok), ("DKIM", dkim_ok), ("DMARC", dmarc_ok)) if not ok]
    else:
        lines.append(f"{daily_volume}/day is under the {BULK_THRESHOLD}/day bulk threshold; DMARC is still "
                     "recommended.")
    if missing:
        return CheckResult("sender_rules", Status.FAIL,
                           f"Mailbox providers will reject or junk this mail: {' and '.join(missing)} missing",
                           "\n".join(lines), "Fix the failing checks above (the letter lists the records).")
    if dmarc in (Status.FAIL, Status.ERROR) and not bulk:
        return CheckResult("sender_rules", Status.WARN, "Meets the minimum rules; DMARC is missing",
                           "\n".join(lines), "Publish DMARC: it is required at bulk volume and helps delivery.")
    return CheckResult("sender_rules", Status.PASS, "Meets Google's, Yahoo's and Microsoft's sender rules"
                       + (" for bulk senders" if bulk else ""), "\n".join(lines))
