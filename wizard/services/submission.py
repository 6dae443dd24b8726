"""The one way into the outbox: every message gets the same rules here, whoever hands it over.

Postfix's `cleanup` daemon is the model: the relay, `mailwright send` (and `--eml`), the app's test mail
and Python callers (`wizard.submit`) all pass `prepare`, and the direct test mails (`send-test`, the
wizard's test page) pass `apply_rules` before they go to the provider. In this order:

1. routing: the profile named by the caller, else the profile whose address is the envelope sender, else
   the one whose address is the header From, else the default profile;
2. header hygiene: no CR/LF in a header value, header lines <= 998 octets, Bcc removed (its addresses are
   envelope recipients only), a From (the account), a `Date:` and a `Message-ID:` in the sender's domain
   added when missing;
3. the sender policy (policy.py) on the envelope sender and on every address in `From:` and `Sender:`:
   block -> `SenderNotAuthorizedError`, nothing is queued; alert -> queued, and the alert is logged and
   returned in `QueuedMessage.alerts`, which the way in raises through the alerts dispatcher
   (`Services.submit`/`asubmit`, the relay's `on_alert`);
4. the forced postmaster: From (and the envelope sender) become the postmaster, the original From goes to
   Reply-To unless the message has one;
5. the account's display name, when From is the account's own address without a name;
6. priority: the most urgent (the lowest number) of the account's, the caller's (the relay user's, --priority)
   and the message's own headers (X-Priority, Importance, Priority, X-MSMail-Priority), MailUp SMTP+'s rule;
   the headers are kept as sent;
7. the size limit (32 MiB, the relay's limit) on the message as it will be stored.

Only the header block is edited (header_block.py); the body's bytes stay as the application wrote them.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.policy import SMTP
from typing import TYPE_CHECKING

from wizard.services.config import Config
from wizard.services.errors import MailwrightError
from wizard.services.header_block import HeaderBlock, HeaderError, reject_control_characters
from wizard.services.mailbox_syntax import is_sendable_address
from wizard.services.message_priority import priority_from_headers
from wizard.services.model import Profile
from wizard.services.policy import SenderRules, check_sender
from wizard.services.relay_users import RelayUser

if TYPE_CHECKING:
    from wizard.services.outbox import Outbox

__all__ = ["MAX_MESSAGE_BYTES", "InvalidMessageError", "MessageTooLargeError", "NoProfileError", "PreparedMessage",
           "QueuedMessage", "SenderNotAuthorizedError", "SubmissionError", "apply_rules", "asubmit",
           "check_envelope_sender", "prepare", "route", "submit"]

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class SubmissionError(MailwrightError):
    """A message refused before anything was queued or sent; `code` is stable (for --json and the relay)."""

    code: str = "invalid_input"


class InvalidMessageError(SubmissionError):
    """The message or its envelope breaks a rule of RFC 5322/5321 (header line breaks, no recipients, ...)."""


class NoProfileError(SubmissionError):
    """No profile is configured, or the named one does not exist."""

    code: str = "no_profile"


class SenderNotAuthorizedError(SubmissionError):
    """The profile's policy blocks this sender; `where` says which address: envelope, From or Sender."""

    code: str = "sender_not_authorized"

    def __init__(self, sender: str, profile: str, where: str = "envelope", owner: str = "profile") -> None:
        what = "envelope sender" if where == "envelope" else f"{where}: address"
        super().__init__(f"{sender or '<>'} ({what}) is not an authorised sender for {owner} '{profile}'.")
        self.sender = sender
        self.profile = profile
        self.where = where


class MessageTooLargeError(SubmissionError):
    code: str = "message_too_large"

    def __init__(self, size: int, limit: int = MAX_MESSAGE_BYTES) -> None:
        super().__init__(f"The message is {size / 1048576:.1f} MiB; at most {limit // 1048576} MiB are accepted.")
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class PreparedMessage:
    """A message after every rule: what is stored in the outbox, or sent by a direct test."""

    profile: Profile
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes
    message_id: str
    priority: int
    alerts: tuple[str, ...] = ()
    relay_user: str = ""  # the signed-in relay user who submitted it ("" = none)


@dataclass(frozen=True)
class QueuedMessage:
    """What `wizard.submit` returns: the outbox row that now holds the message durably."""

    id: int
    message_id: str
    profile: str
    priority: int
    envelope_from: str
    recipients: tuple[str, ...]
    alerts: tuple[str, ...] = ()


def as_bytes(message: Message | bytes) -> bytes:
    """The message as RFC 5322 bytes; a message object's header values are checked for line breaks first
    (compat32 objects accept "x\\nBcc: y" and would write it out as a second field)."""
    if isinstance(message, bytes | bytearray | memoryview):
        return bytes(message)
    try:
        for name, value in message.items():
            reject_control_characters(name, str(value))
        return message.as_bytes(policy=SMTP)
    except (HeaderError, ValueError) as exc:  # the email package raises ValueError for unfoldable values too
        raise InvalidMessageError(str(exc)) from exc


def _parse(raw: bytes) -> HeaderBlock:
    try:
        return HeaderBlock.parse(raw)
    except HeaderError as exc:
        raise InvalidMessageError(str(exc)) from exc


def _first_from(block: HeaderBlock) -> str:
    addresses = block.addresses("From")
    return addresses[0][1] if addresses else ""


def route(config: Config, *, profile: str | None = None, envelope_from: str = "", header_from: str = "") -> Profile:
    """The profile a message goes through (step 1); `NoProfileError` when there is none."""
    if profile:
        try:
            return config.profile(profile)
        except KeyError as exc:
            raise NoProfileError(exc.args[0]) from None
    for address in (envelope_from, header_from):
        wanted = address.strip().lower()
        if wanted:
            for candidate in config.profiles.values():
                if candidate.from_address.lower() == wanted:
                    return candidate
    try:
        return config.profile()
    except KeyError as exc:
        raise NoProfileError(exc.args[0]) from None


def check_envelope_sender(config: Config, sender: str, relay_user: RelayUser | None = None) -> Profile:
    """The relay's early answer at MAIL FROM: step 1 and step 3 for the envelope sender alone (with the signed-in
    relay user's profile and policy). The same rules run again on the whole message at DATA; this only refuses a
    blocked sender before the data is sent."""
    profile = route(config, profile=relay_user.profile if relay_user is not None else None, envelope_from=sender)
    if not check_sender(sender, profile).allowed:
        raise SenderNotAuthorizedError(sender, profile.name)
    if relay_user is not None and not check_sender(sender, relay_user, "relay user").allowed:
        raise SenderNotAuthorizedError(sender, relay_user.name, owner="relay user")
    return profile


def prepare(message: Message | bytes, config: Config | None, *, profile: str | Profile | None = None,
            relay_user: RelayUser | None = None,
            envelope_from: str | None = None, recipients: Sequence[str] | None = None,
            priority: int | None = None) -> PreparedMessage:
    """Every rule, routing included (a `Profile` given by the caller is used as it is, without routing);
    raises a `SubmissionError` and then nothing may be queued. A signed-in relay user brings its own profile
    (if set), priority and sender policy."""
    block = _parse(as_bytes(message))
    if relay_user is not None:
        profile = profile or relay_user.profile or None
        priority = relay_user.priority if priority is None else min(priority, relay_user.priority)
    if isinstance(profile, Profile):
        chosen = profile
    elif config is None:
        raise NoProfileError("No profile is configured yet: run the wizard or `mailwright profile add`.")
    else:
        chosen = route(config, profile=profile, envelope_from=envelope_from or "", header_from=_first_from(block))
    return _apply(block, chosen, envelope_from, recipients, priority, relay_user)


def apply_rules(message: Message | bytes, profile: Profile, *, envelope_from: str | None = None,
                recipients: Sequence[str] | None = None, priority: int | None = None) -> PreparedMessage:
    """Steps 2-7 for a profile the caller already has (the wizard's test mail uses the unsaved draft)."""
    return _apply(_parse(as_bytes(message)), profile, envelope_from, recipients, priority)


def _recipients(block: HeaderBlock, given: Sequence[str] | None) -> tuple[str, ...]:
    found = list(given) if given is not None else [
        address for header in ("To", "Cc", "Bcc") for _, address in block.addresses(header)]
    cleaned = tuple(dict.fromkeys(r.strip() for r in found if r.strip()))
    if not cleaned:
        raise InvalidMessageError("The message has no recipients.")
    for address in cleaned:
        if not is_sendable_address(address):
            raise InvalidMessageError(f"{address!r} is not a valid recipient address.")
    return cleaned


def _address_field(display_name: str, address: str) -> str:
    return email.utils.formataddr((display_name, address), charset="utf-8") if display_name else address


def _apply(block: HeaderBlock, profile: Profile, envelope_from: str | None, recipients: Sequence[str] | None,
           priority: int | None, relay_user: RelayUser | None = None) -> PreparedMessage:
    if priority is not None and not 1 <= priority <= 5:
        raise InvalidMessageError(f"Priority must be 1 (very high) to 5 (very low), not {priority}.")
    try:
        # 2. header hygiene (the parse already refused line breaks in values and lines over 998 octets)
        rcpts = _recipients(block, recipients)
        block.remove("Bcc")
        block.remove("Resent-Bcc")
        if not block.addresses("From"):
            block.replace("From", _address_field(profile.display_name, profile.from_address))
        header_from = _first_from(block)
        sender = profile.from_address if envelope_from is None else envelope_from.strip()
        if envelope_from is None and header_from:
            sender = header_from
        date = block.first("Date")
        if date is None or not date.value:
            block.replace("Date", email.utils.format_datetime(datetime.now(UTC)))
        message_id_field = block.first("Message-ID")
        if message_id_field is None or not message_id_field.value:
            domain = (header_from or sender or profile.from_address).rpartition("@")[2]
            block.replace("Message-ID", email.utils.make_msgid(domain=domain or "mailwright.invalid"))
        # 3. the sender policy on every address that claims to be the sender
        alerts: list[str] = []
        checked: set[str] = set()
        for where, address in [("envelope", sender), *(("From", a) for _, a in block.addresses("From")),
                               *(("Sender", a) for _, a in block.addresses("Sender"))]:
            if address.lower() in checked and where != "envelope":
                continue
            checked.add(address.lower())
            rules: list[tuple[str, SenderRules]] = [("profile", profile)]
            if relay_user is not None:
                rules.append(("relay user", relay_user))  # both must allow
            for owner, policy in rules:
                decision = check_sender(address, policy, owner)
                if not decision.allowed:
                    raise SenderNotAuthorizedError(address, policy.name, where, owner)
                if decision.alert and decision.alert not in alerts:
                    alerts.append(decision.alert)
        # 4. the forced postmaster; 5. otherwise the display name on the account's own address
        from_field = block.first("From")
        if profile.force_postmaster_sender and profile.postmaster:
            if from_field is not None and block.first("Reply-To") is None:
                block.add("Reply-To", from_field.value)
            block.replace("From", _address_field(profile.display_name, profile.postmaster))
            sender = profile.postmaster
        elif profile.display_name:
            addresses = block.addresses("From")
            if len(addresses) == 1 and not addresses[0][0] and \
                    addresses[0][1].lower() == profile.from_address.lower():
                block.replace("From", _address_field(profile.display_name, addresses[0][1]))
    except HeaderError as exc:
        raise InvalidMessageError(str(exc)) from exc
    # 6. priority; 7. the size limit, on what will be stored
    requested = [p for p in (profile.priority, priority,
                             priority_from_headers((f.name, f.value) for f in block.fields)) if p is not None]
    effective = min(requested)  # the most urgent of the account's, the caller's and the message's own
    raw = block.to_bytes()
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageTooLargeError(len(raw))
    message_id_field = block.first("Message-ID")
    message_id = " ".join(message_id_field.value.split()) if message_id_field is not None else ""
    return PreparedMessage(profile, sender, rcpts, raw, message_id, effective, tuple(alerts),
                           relay_user.name if relay_user is not None else "")


def _queued(prepared: PreparedMessage, row_id: int) -> QueuedMessage:
    for alert in prepared.alerts:
        log.warning("Queued message %s despite the sender policy: %s", prepared.message_id, alert)
    return QueuedMessage(row_id, prepared.message_id, prepared.profile.name, prepared.priority,
                         prepared.envelope_from, prepared.recipients, prepared.alerts)


def submit(message: Message | bytes, *, config: Config | None, outbox: Outbox,
           profile: str | Profile | None = None, relay_user: RelayUser | None = None,
           envelope_from: str | None = None, recipients: Sequence[str] | None = None,
           priority: int | None = None) -> QueuedMessage:
    """Apply every rule, then store the message durably; returns once the row is committed."""
    prepared = prepare(message, config, profile=profile, relay_user=relay_user, envelope_from=envelope_from,
                       recipients=recipients, priority=priority)
    stored = outbox.enqueue(prepared.raw, profile=prepared.profile.name, envelope_from=prepared.envelope_from,
                            recipients=prepared.recipients, priority=prepared.priority,
                            relay_user=prepared.relay_user)
    return _queued(prepared, stored.id)


async def asubmit(message: Message | bytes, *, config: Config | None, outbox: Outbox,
                  profile: str | Profile | None = None, relay_user: RelayUser | None = None,
                  envelope_from: str | None = None, recipients: Sequence[str] | None = None,
                  priority: int | None = None) -> QueuedMessage:
    """`submit` for the event loop (the relay, the app's dialogs): the commit is shared with concurrent ones."""
    prepared = prepare(message, config, profile=profile, relay_user=relay_user, envelope_from=envelope_from,
                       recipients=recipients, priority=priority)
    stored = await outbox.aenqueue(prepared.raw, profile=prepared.profile.name,
                                   envelope_from=prepared.envelope_from, recipients=prepared.recipients,
                                   priority=prepared.priority, relay_user=prepared.relay_user)
    return _queued(prepared, stored.id)
