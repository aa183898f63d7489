"""Inbound mail: the domains a project receives for, what the listener accepts, and a message
stored (raw and read) for each project it was sent to, with an `email.received` webhook event
for each endpoint that listens for it, in one write.

The listener asks `accepts` at RCPT (mail for a name no project receives for is refused: never an
open relay) and hands the message, read by the inbound reader (an adapter: strangers write it),
to `receive`."""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
from collections import defaultdict
from datetime import datetime, timedelta

from attrs import evolve, frozen

from autorelay_core.domain.activity import REPLIED, ContactEvent
from autorelay_core.domain.addresses import split_mailbox
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.contacts import email_key
from autorelay_core.domain.dmarc import is_rua
from autorelay_core.domain.domains import DnsRecord
from autorelay_core.domain.emails import Email
from autorelay_core.domain.inbound import (
    RAW_TYPE,
    Attachment,
    InboundMessage,
    ReadMail,
    ReceivingDomain,
    domain_of,
    kept,
)
from autorelay_core.domain.inbound_routes import InboundRoute, route_for
from autorelay_core.domain.webhooks import WebhookDelivery
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.ports.inbound import InboundFilter
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.dmarc_reports import take_reports
from autorelay_core.usecases.found import found
from autorelay_core.usecases.inbound_routes import forward, hook_deliveries_for
from autorelay_core.usecases.journey_entry import event_happened
from autorelay_core.usecases.manage_domains import check_domain_name

EVENT = "email.received"
# How long an attachment's download link in an event or an API answer works.
LINK_LIFETIME = timedelta(hours=24)
_LINK = "inbound-file"
# Our Message-IDs are <email id@sender's domain> (send_email.new_message_id).
_OURS = re.compile(r"<(em_[A-Za-z0-9_]{1,80})@[^<>\s]{1,255}>")
# A reply names its thread's messages; the newest few are enough to find the email it answers.
_REFERENCES_READ = 10


async def add_receiving_domain(deps: Deps, caller: Caller, name: object) -> ReceivingDomain:
    name = check_domain_name(name)
    if deps.config.bounce_domain and name == deps.config.bounce_domain.lower():
        raise Invalid(f"{name} is the server's bounce domain: returned mail arrives there", field="domain")
    domain = ReceivingDomain(deps.ids.new("rdom"), caller.project_id, name, deps.clock.now())
    await deps.storage.inbound.add_domain(domain)  # Conflict when any project receives for it
    return domain


async def receiving_domains(deps: Deps, caller: Caller) -> list[ReceivingDomain]:
    return await deps.storage.inbound.domains(caller.project_id)


async def delete_receiving_domain(deps: Deps, caller: Caller, domain_id: str) -> None:
    if not await deps.storage.inbound.delete_domain(caller.project_id, domain_id):
        raise NotFound(f"receiving domain {domain_id} not found")


def mx_records(deps: Deps, domain: ReceivingDomain) -> list[DnsRecord]:
    """The MX to publish: the inbound listener's host (an address gets a host name of its own,
    as an MX names a host, never an address: RFC 5321 5.1)."""
    host = deps.config.bounce_mx
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return domain.mx_records(host)
    named = f"mx.{domain.name}"
    return [*domain.mx_records(named), DnsRecord("A" if address.version == 4 else "AAAA", named, str(address))]


@frozen
class Verdict:
    """What becomes of mail for one recipient: the project that receives it and the route it
    takes (None: stored, and every `email.received` endpoint hears of it)."""

    project_id: str
    route: InboundRoute | None = None

    @property
    def refusal(self) -> str:
        """The SMTP reply refusing the recipient at RCPT ("" to accept it)."""
        return self.route.refusal() if self.route is not None and self.route.action == "reject" else ""


async def accepts(deps: Deps, address: str) -> Verdict | None:
    """What becomes of mail for `address`, or None when no project receives for its domain (the
    listener refuses it at RCPT: never an open relay). DMARC reports (to the rua address of the
    bounce domain or of a receiving domain) take no route."""
    name, bounce = domain_of(address), deps.config.bounce_domain.lower()
    if is_rua(address) and bounce and name == bounce:
        return Verdict("")
    domain = await deps.storage.inbound.domain_named(name)
    if domain is None:
        return None
    if is_rua(address):
        return Verdict(domain.project_id)
    routes = await deps.storage.inbound.routes(domain.project_id)
    if any(r.match == "regex" for r in routes):
        # The expressions run off the event loop (`regex` lets go of the GIL), within their budget.
        return Verdict(domain.project_id, await deps.offload.run(route_for, routes, address))
    return Verdict(domain.project_id, route_for(routes, address))


async def receive(
    deps: Deps,
    mail: ReadMail,
    raw: bytes,
    envelope_from: str,
    recipients: list[str],
    *,
    client_address: str = "",
    helo: str = "",
) -> list[InboundMessage]:
    """Store the message once for each project one of `recipients` belongs to, as their routes
    say (recipients for no project, or that a route rejects, were refused at RCPT; any left are
    ignored); the DMARC reports mailed to a rua address go to the domains they report on."""
    projects: dict[str, list[tuple[str, InboundRoute | None]]] = defaultdict(list)
    reported = [r for r in recipients if is_rua(r)]
    for recipient in recipients:
        verdict = None if is_rua(recipient) else await accepts(deps, recipient)
        if verdict is not None and not verdict.refusal:
            projects[verdict.project_id].append((recipient, verdict.route))
    stored = []
    for project_id, mine in projects.items():
        arrived = Arrival(raw, envelope_from, tuple(r for r, _ in mine), client_address, helo)
        stored.append(await _store(deps, project_id, mail, arrived, [route for _, route in mine]))
    if reported and mail.reports:
        await take_reports(deps, mail.reports, reported)
    if stored:
        deps.queue.wake()
    return stored


@frozen
class Arrival:
    raw: bytes
    envelope_from: str
    recipients: tuple[str, ...]
    client_address: str
    helo: str


async def _store(
    deps: Deps, project_id: str, mail: ReadMail, arrived: Arrival, routes: list[InboundRoute | None]
) -> InboundMessage:
    raw = arrived.raw
    now = deps.clock.now()
    message_id = deps.ids.new("inb")
    # The blob keys carry a secret part: a store whose URLs are public (a public bucket for
    # assets) never makes received mail guessable.
    folder = f"inbound/{project_id}/{message_id}-{secrets.token_hex(16)}"
    raw_key = f"{folder}/message.eml"
    await deps.blobs.put(raw_key, raw, RAW_TYPE, inline=False, filename="message.eml")
    attachments = []
    for number, (attachment, data) in enumerate(mail.files, start=1):
        key = f"{folder}/{number}"
        await deps.blobs.put(key, data, attachment.content_type, inline=False, filename=attachment.filename)
        attachments.append(evolve(attachment, id=f"att_{number}", key=key))
    message = InboundMessage(
        id=message_id,
        project_id=project_id,
        received_at=now,
        envelope_from=arrived.envelope_from,
        recipients=arrived.recipients,
        from_=mail.from_,
        to=mail.to,
        cc=mail.cc,
        reply_to=mail.reply_to,
        subject=mail.subject,
        message_id=mail.message_id,
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        text=kept(mail.text),
        html=kept(mail.html),
        reply_text=kept(mail.reply_text),
        headers=mail.headers,
        size=len(raw),
        raw_key=raw_key,
        client_address=arrived.client_address,
        helo=arrived.helo,
        attachments=tuple(attachments),
        authentication=dict(mail.authentication),
        routes=tuple(sorted({r.id for r in routes if r is not None})),
    )
    answered = await replied_to(deps, project_id, mail)
    if answered is not None:
        message.reply_to_email, message.reply_to_campaign = answered.id, answered.campaign_id or ""
        journey = answered.tags.get("journey") if answered.contact_id else None
        message.reply_to_journey = journey if isinstance(journey, str) else ""
    # Sent on before the message is stored: a failure between the two makes the sender try again
    # and the forward go twice, never not at all.
    forwards = {r.id: r for r in routes if r is not None and r.action == "forward"}
    sent = []
    for route in forwards.values():
        sent.append((route.forward_to, *await forward(deps, route, mail, message_id)))
    message.forwards = tuple(sent)
    deliveries = await _deliveries(deps, message, now, routes)
    await deps.storage.inbound.add(message, deliveries)
    if answered is not None:
        await _engaged(deps, answered, message)
    return message


async def replied_to(deps: Deps, project_id: str, mail: ReadMail) -> Email | None:
    """The email of this project that the message answers: the newest of its In-Reply-To and
    References that is exactly one of our Message-IDs (a made-up one names an id, but an id alone
    is not enough: the whole Message-ID must be the email's)."""
    for reference in (mail.in_reply_to, *reversed(mail.references[-_REFERENCES_READ:])):
        ours = _OURS.fullmatch(reference)
        email = await deps.storage.emails.get(project_id, ours.group(1)) if ours else None
        if email is not None and email.message_id == reference:
            return email
    return None


async def _engaged(deps: Deps, email: Email, message: InboundMessage) -> None:
    """A reply to a campaign's or a journey's email is its contact's engagement, like a click: an
    event of the contact's stream (segments count it, a journey waiting for it hears it)."""
    if (email.campaign_id is None and email.contact_id is None) or not email.to:
        return
    event = ContactEvent(
        id=deps.ids.new("cev"),
        project_id=email.project_id,
        email_key=email_key(split_mailbox(email.to[0])[1] or email.to[0]),
        name=REPLIED,
        occurred_at=message.received_at,
        properties={"inboundId": message.id},
        campaign_id=email.campaign_id,
        email_id=email.id,
    )
    await deps.storage.contact_events.add(event)
    await event_happened(deps, event)


async def _deliveries(
    deps: Deps, message: InboundMessage, now: datetime, routes: list[InboundRoute | None]
) -> tuple[WebhookDelivery, ...]:
    everyone, named = hook_deliveries_for(routes)
    if not everyone and not named:
        return ()
    # Received mail is live mail: an endpoint a test key made hears none of it.
    found = await deps.storage.webhooks.list(message.project_id)
    hooks = [w for w in found if w.active and not w.test and (w.id in named or (everyone and EVENT in w.events))]
    if not hooks:
        return ()
    event_id = deps.ids.new("evt")
    body = json.dumps(
        {"type": EVENT, "created_at": now.isoformat(), "data": received_view(deps, message, now)},
        separators=(",", ":"),
    )
    return tuple(
        WebhookDelivery(
            id=deps.ids.new("whd"),
            webhook_id=hook.id,
            project_id=message.project_id,
            event_id=event_id,
            event_type=EVENT,
            body=body,
            created_at=now,
            due_at=now,
        )
        for hook in hooks
    )


def received_view(deps: Deps, message: InboundMessage, now: datetime) -> dict[str, object]:
    """A received message as the webhook event and the API show it (Resend's names where it has
    them), with download links for its attachments that work for LINK_LIFETIME from `now`."""
    m = message
    expires = now + LINK_LIFETIME
    return {
        "email_id": m.id,
        "created_at": m.received_at.isoformat(),
        **m.summary(),
        "bcc": [],
        "envelope_from": m.envelope_from,
        "in_reply_to": m.in_reply_to,
        "reply_to_email_id": m.reply_to_email or None,
        "reply_to_campaign_id": m.reply_to_campaign or None,
        "reply_to_journey_id": m.reply_to_journey or None,
        "references": list(m.references),
        "text": m.text,
        "html": m.html,
        "reply_text": m.reply_text,
        "headers": [{"name": k, "value": v} for k, v in m.headers],
        "size": m.size,
        "route_ids": list(m.routes),
        "forwarded": [
            {"to": to, "email_id": sent or None, "error": problem or None} for to, sent, problem in m.forwards
        ],
        "authentication": {
            "spf": m.authentication.get("spf", "none"),
            "dkim": m.authentication.get("dkim", "none"),
            "dkim_domain": m.authentication.get("dkim_domain", ""),
            "dmarc": m.authentication.get("dmarc", "none"),
            "from_domain": m.authentication.get("from_domain", ""),
            "results": m.authentication.get("header", ""),
        },
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "content_type": a.content_type,
                "content_disposition": a.disposition,
                "content_id": a.content_id,
                "size": a.size,
                "download_url": attachment_link(deps, m, a, expires),
                "expires_at": expires.isoformat(),
            }
            for a in m.attachments
        ],
    }


def attachment_link(deps: Deps, message: InboundMessage, attachment: Attachment, expires: datetime) -> str:
    token = deps.signer.sign(_LINK, (message.project_id, message.id, attachment.id, str(int(expires.timestamp()))))
    return f"{deps.config.files_url}/{token}"


async def linked_file(deps: Deps, token: str) -> tuple[Attachment, bytes]:
    """The attachment a download link names, while the link works; NotFound otherwise (a forged,
    altered or expired link says nothing about what exists)."""
    fields = deps.signer.unsign(_LINK, token)
    if fields is None or len(fields) != 4 or not fields[3].isdigit():
        raise NotFound("this download link is not valid or has expired")
    project_id, message_id, attachment_id, expires = fields
    if int(expires) < deps.clock.now().timestamp():
        raise NotFound("this download link is not valid or has expired")
    return await _attachment(deps, project_id, message_id, attachment_id)


async def _attachment(deps: Deps, project_id: str, message_id: str, attachment_id: str) -> tuple[Attachment, bytes]:
    message = await deps.storage.inbound.get(project_id, message_id)
    attachment = next((a for a in message.attachments if a.id == attachment_id), None) if message else None
    data = await deps.blobs.get(attachment.key) if attachment is not None else None
    if attachment is None or data is None:
        raise NotFound("this download link is not valid or has expired")
    return attachment, data


async def list_received(
    deps: Deps, caller: Caller, page: CursorRequest, where: InboundFilter
) -> tuple[list[InboundMessage], bool]:
    given = {"from": where.sender, "to": where.recipient, "subject": where.subject, "cursor": page.after or ""}
    for name, value in given.items():
        if "\x00" in value:
            raise Invalid(f"{name} may not contain a NUL character", field=name)
    return await deps.storage.inbound.page(caller.project_id, page.limit, page.after, where)


async def get_received(deps: Deps, caller: Caller, message_id: str) -> InboundMessage:
    return found(await deps.storage.inbound.get(caller.project_id, message_id), f"received email {message_id}")


async def delete_received(deps: Deps, caller: Caller, message_id: str) -> None:
    """Delete a received message with its raw copy and attachments (their links stop working);
    webhook events already queued keep what they carry."""
    message = found(await deps.storage.inbound.delete(caller.project_id, message_id), f"received email {message_id}")
    await _forget_files(deps, message)


async def prune_received(deps: Deps, batch: int = 500) -> int:
    """Delete the received mail older than `config.keep_received` (a batch a call: the background
    checks call it every minute); returns how many messages went."""
    keep = deps.config.keep_received
    if keep is None:
        return 0
    pruned = 0
    for message in await deps.storage.inbound.received_before(deps.clock.now() - keep, batch):
        # The row first: a blob left by a crash between the two is unreachable, never a dangling link.
        if await deps.storage.inbound.delete(message.project_id, message.id) is not None:
            await _forget_files(deps, message)
            pruned += 1
    return pruned


async def _forget_files(deps: Deps, message: InboundMessage) -> None:
    for key in (message.raw_key, *(a.key for a in message.attachments)):
        await deps.blobs.delete(key)


async def raw_received(deps: Deps, caller: Caller, message_id: str) -> bytes:
    message = await get_received(deps, caller, message_id)
    return found(await deps.blobs.get(message.raw_key), f"the raw message of {message_id}")
