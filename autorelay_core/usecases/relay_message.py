"""Mail handed to the SMTP relay: the same send as `POST /emails` (key scope, account status, rate
limit, sender check, quota, suppression at delivery, test keys), for a message that arrives as
MIME. The message is kept exactly as the client wrote it; the envelope decides who gets it (so Bcc
recipients are envelope-only), and the client's Message-ID, when it sets one, is the idempotency
key: a client that retries after losing our reply never sends twice."""

from __future__ import annotations

import re
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from attrs import frozen

from autorelay_core.domain.addresses import Mailbox, check_address
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.emails import Email
from autorelay_core.domain.headers import one_line_problem, relayed_header_problem
from autorelay_core.errors import Invalid
from autorelay_core.policies.idempotency import StoredResponse
from autorelay_core.policies.quota import Charge
from autorelay_core.usecases.access import admit
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.idempotent import run_once
from autorelay_core.usecases.send_email import MAX_SUBJECT, accept, new_message_id, sender_charges

SEND_LIMITED_AS = "emails.send"
# A Message-ID worth keeping (RFC 5322 msg-id, dot-atom form): <left@right>, printable ASCII with no
# spaces, brackets or a second @, at most 250 characters.
_MESSAGE_ID = re.compile(r"<[!#-'*+\-/-9=?A-Z^-~.]{1,200}@[!#-'*+\-/-9=?A-Z^-~.\[\]]{1,48}>")
IDEMPOTENCY_TARGET = "SMTP DATA"
MAX_RECIPIENTS_FACTOR = 3  # to, cc and bcc together: as many as the API allows in each


def max_message_bytes(deps: Deps) -> int:
    """The SIZE the relay announces: attachments up to the API's limit, base64-encoded, with room
    for the rest of the message."""
    return deps.config.max_attachment_bytes * 4 // 3 + 1024 * 1024


@frozen
class Relayed:
    email_id: str
    message_id: str  # the client's own when it set a well-formed one (and the relay keeps them)
    replayed: bool  # a retry of a message already accepted (the same Message-ID and bytes)


async def relay_message(
    deps: Deps, caller: Caller, recipients: list[str], content: bytes, *, trace: str | None = None
) -> Relayed:
    """Accept the message into the outbox. `trace`: the Received header's value the door writes
    (who handed the message over, how and when); it goes on top of the message as it leaves."""
    await admit(deps, caller, scope="emails.send", limited_as=SEND_LIMITED_AS)
    email, billed, client_id = await _email(deps, caller, recipients, content)
    if trace is not None:
        problem = one_line_problem(trace, tab=True)
        if problem is not None:
            raise ValueError(f"the Received trace {problem}")  # the door's own text: a bug, not input
        email.headers = {"Received": trace}

    async def store() -> tuple[StoredResponse, bool]:
        await accept(deps, email, billed)
        return StoredResponse(200, "text/plain", f"{email.id} {email.message_id}".encode()), True

    if client_id is None:
        await store()
        return Relayed(email.id, email.message_id, False)
    # The same request: the same envelope recipients and the same bytes.
    target = f"{IDEMPOTENCY_TARGET} to {','.join(sorted(a.lower() for a in recipients))}"
    answer, replayed = await run_once(deps, caller, f"smtp:{client_id}", target, content, store)
    email_id, _, message_id = answer.body.decode().partition(" ")
    return Relayed(email_id, message_id or email.message_id, replayed)


async def _email(
    deps: Deps, caller: Caller, recipients: list[str], content: bytes
) -> tuple[Email, tuple[Charge, ...], str | None]:
    if len(content) > max_message_bytes(deps):
        raise Invalid(f"The message is larger than {max_message_bytes(deps):,} bytes")
    problem = relayed_header_problem(header_block(content))
    if problem is not None:
        raise Invalid(f"The message's {problem}", field="headers")
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(content)
    senders = getaddresses(headers.get_all("From", []))
    if len(senders) != 1:
        raise Invalid("The message needs exactly one From address", field="from")
    sender = Mailbox.parse(_decoded(headers, "From"), "from")
    billed = await sender_charges(deps, caller, sender)
    maximum = deps.config.max_recipients * MAX_RECIPIENTS_FACTOR
    if not recipients:
        raise Invalid("The message has no recipients", field="to")
    if len(recipients) > maximum:
        raise Invalid(f"At most {maximum} recipients per message", field="to")
    envelope = [check_address(address, "recipient") for address in recipients]
    shown = {
        field: {address.lower() for _, address in getaddresses(headers.get_all(field, []))} for field in ("To", "Cc")
    }
    to = tuple(a for a in envelope if a.lower() in shown["To"])
    cc = tuple(a for a in envelope if a.lower() in shown["Cc"] and a.lower() not in shown["To"])
    bcc = tuple(a for a in envelope if a not in to and a not in cc)
    subject = " ".join(_decoded(headers, "Subject").split())[:MAX_SUBJECT] or "(no subject)"
    client_id = (headers.get("Message-ID") or "").strip() or None
    keep = deps.config.relay_keeps_message_id and client_id is not None and _MESSAGE_ID.fullmatch(client_id)
    email_id = deps.ids.new("em")
    email = Email(
        id=email_id,
        project_id=caller.project_id,
        message_id=client_id if keep and client_id else new_message_id(sender, email_id),
        sender=sender.formatted(),
        to=to or bcc[:1],
        to_was_list=True,
        cc=cc,
        bcc=bcc if to else bcc[1:],
        subject=subject,
        html="",
        text="",
        tags={"via": "smtp"},
        test=caller.is_test,
        created_at=deps.clock.now(),
        raw=content,
    )
    return email, billed, client_id[:255] if client_id else None


def header_block(content: bytes) -> bytes:
    """The message's header lines: up to the first empty line."""
    ends = [at for at in (content.find(b"\r\n\r\n"), content.find(b"\n\n")) if at >= 0]
    return content[: min(ends)] if ends else content


def _decoded(headers: Message, name: str) -> str:
    """A header's text with RFC 2047 words decoded (the API shows subjects and senders as text)."""
    value = headers.get(name) or ""
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value
