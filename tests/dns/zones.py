"""Test zones: one small domain per situation the DNS health check must recognise."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def public_key(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return base64.b64encode(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode()


KEY_2048 = public_key(2048)
KEY_1024 = public_key(1024)
DKIM_2048 = f"v=DKIM1; k=rsa; p={KEY_2048}"
M365_NEW_TARGET = "selector2-contoso-test._domainkey.contoso.r-v1.dkim.mail.microsoft"
M365_SPF = "v=spf1 include:spf.protection.outlook.com -all"
GOOGLE_ONLY_SPF = "v=spf1 include:_spf.google.com ~all"
TOOMANY_SPF = ("v=spf1 a mx include:_spf.google.com include:spf.protection.outlook.com include:one.many.test "
               "include:two.many.test include:three.many.test include:four.many.test include:five.many.test -all")
BIG_SPF = "v=spf1 ptr " + " ".join(f"ip4:198.51.100.{i}" for i in range(1, 26)) + " ~all"

H = 3600  # TTL of the records under test
STS_DOMAINS = ("sts.test", "stsgap.test", "ststesting.test", "stsmissing.test", "stsbad.test", "stsredirect.test",
               "stsuntrusted.test")
PROVIDERS = {
    "spf.protection.outlook.com": [("TXT", "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 "
                                           "ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 -all", 300)],
    "_spf.google.com": [("TXT", "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com "
                                "include:_netblocks3.google.com ~all", 300)],
    "_netblocks.google.com": [("TXT", "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ~all", 300)],
    "_netblocks2.google.com": [("TXT", "v=spf1 ip6:2001:4860:4000::/36 ~all", 300)],
    "_netblocks3.google.com": [("TXT", "v=spf1 ip4:172.217.0.0/19 ~all", 300)],
    "sendgrid.net": [("TXT", "v=spf1 ip4:167.89.0.0/17 ~all", 300)],
    "selector1-contoso-test._domainkey.contoso.onmicrosoft.com": [("TXT", DKIM_2048, 300)],
    M365_NEW_TARGET: [("TXT", DKIM_2048, 300)],
    "selector1-badcname-test._domainkey.evil.example": [("TXT", DKIM_2048, 300)],
    "contoso-test.mail.protection.outlook.com": [("A", "52.101.0.1", 300)],
}

DOMAINS = {
    # a correct Microsoft 365 domain: SPF include, both selectors CNAMEd (legacy and new target form), DMARC reject
    "contoso.test": [("TXT", M365_SPF, H), ("MX", "0 contoso-test.mail.protection.outlook.com", H)],
    "selector1._domainkey.contoso.test": [("CNAME", "selector1-contoso-test._domainkey.contoso.onmicrosoft.com", H)],
    "selector2._domainkey.contoso.test": [("CNAME", M365_NEW_TARGET, H)],
    "_dmarc.contoso.test": [("TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@contoso.test", H)],
    # nothing but an address
    "bare.test": [("A", "192.0.2.80", H)],
    # two SPF records (permerror)
    "twospf.test": [("TXT", GOOGLE_ONLY_SPF, H), ("TXT", "v=spf1 ip4:192.0.2.0/24 -all", H),
                    ("TXT", "google-site-verification=abc", H)],
    # 12 DNS-querying terms
    "toomany.test": [("TXT", TOOMANY_SPF, H), ("A", "192.0.2.12", H), ("MX", "10 toomany.test", H)],
    **{f"{n}.many.test": [("TXT", f"v=spf1 ip4:198.51.100.{i}/32 -all", H)]
       for i, n in enumerate(("one", "two", "three", "four", "five"), start=1)},
    # 3 void lookups
    "voids.test": [("TXT", "v=spf1 a:gone1.voids.test a:gone2.voids.test a:gone3.voids.test "
                           "include:spf.protection.outlook.com -all", H)],
    # +all
    "plusall.test": [("TXT", "v=spf1 include:spf.protection.outlook.com +all", H)],
    # malformed DMARC
    "baddmarc.test": [("TXT", M365_SPF, H)],
    "_dmarc.baddmarc.test": [("TXT", "v=DMARC1; p=bogus; pct=200", H)],
    # revoked DKIM key
    "revoked.test": [("TXT", M365_SPF, H)],
    "selector1._domainkey.revoked.test": [("TXT", "v=DKIM1; k=rsa; p=", H)],
    "_dmarc.revoked.test": [("TXT", "v=DMARC1; p=none", H)],
    # Google-only SPF, checked for Microsoft 365
    "googleonly.test": [("TXT", GOOGLE_ONLY_SPF, H)],
    "google._domainkey.googleonly.test": [("TXT", DKIM_2048, H)],
    "_dmarc.googleonly.test": [("TXT", "v=DMARC1; p=quarantine; rua=mailto:d@googleonly.test", H)],
    # redirect= chain
    "redirect.test": [("TXT", "v=spf1 redirect=_spf.redirect.test", H)],
    "_spf.redirect.test": [("TXT", GOOGLE_ONLY_SPF, H)],
    # a CNAMEd selector whose target matches neither Microsoft form
    "badcname.test": [("TXT", M365_SPF, H)],
    "selector1._domainkey.badcname.test": [("CNAME", "selector1-badcname-test._domainkey.evil.example", H)],
    # Mailchimp without DKIM under p=reject: DMARC will reject its mail
    "chimp.test": [("TXT", "v=spf1 mx -all", H), ("MX", "10 mail.chimp.test", H)],
    "mail.chimp.test": [("A", "192.0.2.30", H)],
    "_dmarc.chimp.test": [("TXT", "v=DMARC1; p=reject", H)],
    # generic SMTP server: its IP is authorised through mx; an extra sending IP is not
    "generic.test": [("TXT", "v=spf1 mx -all", H), ("MX", "10 mail.generic.test", H)],
    "mail.generic.test": [("A", "192.0.2.25", H)],
    "25.2.0.192.in-addr.arpa": [("PTR", "mail.generic.test", H)],
    # a key under a selector nobody can guess: _domainkey exists (NOERROR), the selector must be given
    "hidden.test": [("TXT", "v=spf1 -all", H)],
    "x7._domainkey.hidden.test": [("TXT", DKIM_2048, H)],
    # ptr mechanism, big record
    "big.test": [("TXT", BIG_SPF, H)],
    # MTA-STS: announced domains whose policies (tests/dns/conftest.py) cover, miss or break their MX
    **{name: rrs for domain in STS_DOMAINS for name, rrs in {
        domain: [("TXT", "v=spf1 -all", H), ("MX", f"10 mx1.{domain}", H), ("MX", f"20 mx2.backup.{domain}", H)],
        f"mx1.{domain}": [("A", "192.0.2.41", H)],
        f"mx2.backup.{domain}": [("A", "192.0.2.42", H)],
        f"_mta-sts.{domain}": [("TXT", "v=STSv1; id=20261130T0000", H)],
    }.items()},
}

ZONE = {**PROVIDERS, **DOMAINS}
