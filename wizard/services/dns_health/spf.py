"""SPF records as data (RFC 7208): a parser that names every syntax error, macro expansion, the merge builder.

Pure functions only; DNS-driven evaluation lives in spf_eval.py.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
# RFC 7208 4.6.4: these terms (and the redirect modifier) cost one DNS lookup each, 10 at most per check.
LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
QUALIFIERS = "+-~?"
MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2
SIZE_WARN = 450
SIZE_FAIL = 512

_MACRO = re.compile(r"%(?:\{[slodiphcrtv]\d*r?[.\-+,/_=]*\}|%|_|-)", re.IGNORECASE)
_MODIFIER = re.compile(r"^([a-z][a-z0-9_.\-]*)=(.*)$", re.IGNORECASE)
_LABEL = re.compile(r"^(?!-)[a-z0-9_\-]{1,63}(?<!-)$", re.IGNORECASE)
_TOPLABEL = re.compile(r"^(?=.*[a-z])[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?$", re.IGNORECASE)
_CIDR = re.compile(r"^(.*?)(?:/(\d+))?(?://(\d+))?$")


@dataclass(frozen=True)
class Term:
    raw: str
    name: str  # mechanism or modifier name, lower case
    qualifier: str = "+"  # "" for modifiers
    value: str = ""  # domain-spec, address, or modifier value
    cidr4: int | None = None
    cidr6: int | None = None
    modifier: bool = False

    @property
    def costs_lookup(self) -> bool:
        return self.name in LOOKUP_MECHANISMS if not self.modifier else self.name == "redirect"

    @property
    def key(self) -> str:
        """Comparable form: qualifier '+' implied, case folded (for "already present?")."""
        return self.raw.lower().lstrip("+")


@dataclass(frozen=True)
class SpfRecord:
    text: str
    terms: tuple[Term, ...]
    errors: tuple[str, ...] = ()

    @property
    def mechanisms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.modifier)

    @property
    def all_term(self) -> Term | None:
        return next((t for t in self.mechanisms if t.name == "all"), None)

    @property
    def redirect(self) -> str | None:
        """The redirect target, unless an `all` makes it unreachable (RFC 7208 6.1)."""
        if self.all_term is not None:
            return None
        return next((t.value for t in self.terms if t.modifier and t.name == "redirect"), None)

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))

    @property
    def valid(self) -> bool:
        return not self.errors


def is_spf(text: str) -> bool:
    lowered = text.strip().lower()
    return lowered == "v=spf1" or lowered.startswith("v=spf1 ")


def _macros_valid(text: str, *, explanation_letters: bool) -> bool:
    rest = _MACRO.sub("", text)
    if "%" in rest:
        return False
    # RFC 7208 7.2: c, r and t are only allowed in exp= explanation text
    return explanation_letters or not re.search(r"%\{[crt]", text, re.IGNORECASE)


def valid_domain_spec(spec: str) -> bool:
    """RFC 7208 7.1 domain-spec: visible characters and macros, ending in a proper top label or a macro."""
    if not spec or any(not 0x21 <= ord(ch) <= 0x7E for ch in spec):
        return False
    if not _macros_valid(spec, explanation_letters=False):
        return False
    if spec.rstrip(".").endswith("}") and _MACRO.search(spec):
        return True
    labels = spec.rstrip(".").split(".")
    return len(labels) >= 2 and all(labels) and bool(_TOPLABEL.match(labels[-1])) and len(labels[-1]) <= 63


def _prefix(text: str | None, limit: int) -> int | str | None:
    """A CIDR length: None when absent, the number, or an error text (RFC 7208 5.6: no leading zeros)."""
    if text is None:
        return None
    if not text.isdigit() or (len(text) > 1 and text.startswith("0")) or int(text) > limit:
        return f"/{text} is not a prefix length from 0 to {limit}"
    return int(text)


def _cidr(value: str, name: str) -> tuple[str, int | None, int | None, str | None]:
    match = _CIDR.match(value)
    assert match is not None  # the pattern matches any string
    target = match.group(1)
    cidr4 = _prefix(match.group(2), 32)
    cidr6 = _prefix(match.group(3), 128)
    for prefix in (cidr4, cidr6):
        if isinstance(prefix, str):
            return target, None, None, prefix
    assert not isinstance(cidr4, str) and not isinstance(cidr6, str)
    return target, cidr4, cidr6, None


def _parse_mechanism(raw: str) -> tuple[Term | None, str | None]:
    qualifier = raw[0] if raw[0] in QUALIFIERS else "+"
    body = raw[1:] if raw[0] in QUALIFIERS else raw
    name, sep, value = body.partition(":")
    name = name.lower()
    if "/" in name and name.split("/", 1)[0] in ("a", "mx"):
        name, value, sep = name.split("/", 1)[0], body[len(name.split("/", 1)[0]):], ""
    if name not in MECHANISMS:
        return None, f"'{raw}' is not an SPF mechanism (RFC 7208 5)"
    if name == "all":
        return (Term(raw, name, qualifier), None) if not sep and not value else (None, f"'{raw}': all takes no value")
    if name in ("ip4", "ip6"):
        address, slash, prefix_text = value.partition("/")
        prefix = _prefix(prefix_text if slash else None, 32 if name == "ip4" else 128)
        if isinstance(prefix, str):
            return None, f"'{raw}': {prefix}"
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            parsed = None
        if parsed is None or parsed.version != (4 if name == "ip4" else 6):
            return None, f"'{raw}': '{address}' is not an IP{'v4' if name == 'ip4' else 'v6'} address"
        return Term(raw, name, qualifier, address, prefix if name == "ip4" else None,
                    prefix if name == "ip6" else None), None
    if name in ("include", "exists") and not value:
        return None, f"'{raw}': {name} needs a domain"
    domain, cidr4, cidr6, problem = _cidr(value, name) if name in ("a", "mx") else (value, None, None, None)
    if problem:
        return None, f"'{raw}': {problem}"
    if sep and not domain:
        return None, f"'{raw}': empty domain after ':'"
    if domain and not valid_domain_spec(domain):
        return None, f"'{raw}': '{domain}' is not a valid domain"
    return Term(raw, name, qualifier, domain, cidr4, cidr6), None


def parse_spf(text: str) -> SpfRecord:
    """Parse one record; `errors` lists every problem that makes it a permerror."""
    parts = [part for part in text.split(" ") if part]  # RFC 7208 4.6.1: terms are separated by spaces only
    errors: list[str] = []
    terms: list[Term] = []
    if not parts or parts[0].lower() != "v=spf1":
        return SpfRecord(text, (), ("the record does not start with v=spf1",))
    seen_modifiers: set[str] = set()
    for raw in parts[1:]:
        modifier = _MODIFIER.match(raw)
        if modifier and ":" not in modifier.group(1):
            name, value = modifier.group(1).lower(), modifier.group(2)
            if name in ("redirect", "exp"):
                if name in seen_modifiers:
                    errors.append(f"'{name}=' appears twice (RFC 7208 6)")
                if not valid_domain_spec(value):
                    errors.append(f"'{raw}': '{value}' is not a valid domain")
                seen_modifiers.add(name)
            elif not _macros_valid(value, explanation_letters=True):
                errors.append(f"'{raw}': invalid macro in the value")
            terms.append(Term(raw, name, "", value, modifier=True))
            continue
        term, problem = _parse_mechanism(raw)
        if problem:
            errors.append(problem)
        if term is not None:
            terms.append(term)
    return SpfRecord(text, tuple(terms), tuple(errors))


def merge_terms(record: SpfRecord, additions: Sequence[str]) -> str:
    """The record with `additions` (e.g. `include:spf.protection.outlook.com`, `ip4:192.0.2.1`) merged in.

    Every existing term stays, in order, with its qualifier; each addition goes before the `all`
    (or after the last mechanism, before the modifiers) and is skipped when already present.
    """
    present = {t.key for t in record.terms}
    new = [a for a in dict.fromkeys(additions) if a.lower().lstrip("+") not in present]
    raws = [t.raw for t in record.terms]
    position = next((i for i, t in enumerate(record.terms) if not t.modifier and t.name == "all"), None)
    if position is None:
        position = max((i + 1 for i, t in enumerate(record.terms) if not t.modifier), default=0)
    return " ".join(["v=spf1", *raws[:position], *new, *raws[position:]])


def merge_records(records: Sequence[SpfRecord]) -> SpfRecord:
    """Two published records (a permerror) folded into one: the first's terms, then the others' new ones."""
    first = records[0]
    extra = [t.raw for r in records[1:] for t in r.mechanisms if t.name != "all"]
    return parse_spf(merge_terms(first, extra))


def expand_macros(spec: str, *, sender: str, domain: str, ip: str, helo: str = "", validated: str = "unknown") -> str:
    """RFC 7208 7: expand %{s l o d i h v} (with digits / r / delimiters), %%, %_ and %-."""
    local, _, sender_domain = sender.rpartition("@")
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        dotted = str(address)
    else:
        dotted = ".".join(address.exploded.replace(":", ""))
    values = {"s": sender, "l": local or "postmaster", "o": sender_domain or domain, "d": domain, "i": dotted,
              "h": helo or domain, "v": "in-addr" if address.version == 4 else "ip6", "p": validated,
              "c": str(address), "r": "unknown", "t": "0"}

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "%%":
            return "%"
        if token == "%_":
            return " "
        if token == "%-":
            return "%20"
        inner = re.match(r"\{([a-z])(\d*)(r?)([.\-+,/_=]*)\}", token[1:], re.IGNORECASE)
        assert inner is not None  # _MACRO only matches well-formed macros
        letter, digits, reverse, delimiters = inner.groups()
        parts = re.split("[" + re.escape(delimiters or ".") + "]", values[letter.lower()])
        if reverse:
            parts.reverse()
        if digits:
            parts = parts[-int(digits):] if int(digits) else parts
        return ".".join(parts)

    return _MACRO.sub(replace, spec)
