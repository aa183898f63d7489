"""Routes of received mail (domain/inbound_routes.py): add, list and remove them, and send on a
message a forward route takes, through the outbox like any other email of the project."""

from __future__ import annotations

import base64
from email.utils import parseaddr

from attrs import evolve, frozen

from autorelay_core.domain.addresses import Mailbox, check_address
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.domains import DomainStatus
from autorelay_core.domain.emails import Email
from autorelay_core.domain.headers import one_line_problem
from autorelay_core.domain.inbound import ReadMail, domain_of
from autorelay_core.domain.inbound_routes import (
    ACTIONS,
    MATCHES,
    MAX_PATTERN,
    REJECT_CODES,
    InboundRoute,
    regex_problem,
)
from autorelay_core.errors import AccountLocked, Invalid, NotFound, QuotaExceeded
from autorelay_core.policies.quota import Charge
from autorelay_core.usecases.access import admit
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.send_email import AttachmentInput, SendCommand, accept, build_email

MAX_ROUTES = 100
MAX_REPLY_TEXT = 200


@frozen
class RouteInput:
    match: object = None
    pattern: object = None
    action: object = None
    webhook_id: object = None
    forward_to: object = None
    forward_from: object = None
    smtp_code: object = None
    smtp_message: object = None


async def add_route(deps: Deps, caller: Caller, given: RouteInput) -> InboundRoute:
    project_id = caller.project_id
    if len(await deps.storage.inbound.routes(project_id)) >= MAX_ROUTES:
        raise Invalid(f"a project may have at most {MAX_ROUTES} inbound routes", field="pattern")
    match = _one_of(given.match, MATCHES, "match")
    action = _one_of(given.action, ACTIONS, "action")
    route = InboundRoute(
        id=deps.ids.new("irt"),
        project_id=project_id,
        created_at=deps.clock.now(),
        match=match,
        pattern=await _pattern(deps, project_id, match, given.pattern),
        action=action,
    )
    route = await _action(deps, caller, route, given)
    await deps.storage.inbound.add_route(route)
    return route


async def routes(deps: Deps, caller: Caller) -> list[InboundRoute]:
    return await deps.storage.inbound.routes(caller.project_id)


async def delete_route(deps: Deps, caller: Caller, route_id: str) -> None:
    if not await deps.storage.inbound.delete_route(caller.project_id, route_id):
        raise NotFound(f"inbound route {route_id} not found")


def _one_of(value: object, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise Invalid(f"{field} must be one of {', '.join(allowed)}", field=field)
    assert isinstance(value, str)
    return value


async def _pattern(deps: Deps, project_id: str, match: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_PATTERN:
        raise Invalid(f"pattern must be a string of 1 to {MAX_PATTERN} characters", field="pattern")
    value = value.strip()
    if match == "regex":
        problem = regex_problem(value) or one_line_problem(value)
        if problem:
            raise Invalid(f"pattern {problem}", field="pattern")
        return value
    if match == "catch_all":
        name = value.removeprefix("*@").lower().removesuffix(".")
    else:
        address = check_address(value, "pattern").lower()
        if match == "plus" and "+" in address.rpartition("@")[0]:
            raise Invalid("pattern: a plus route names the address without its +tag", field="pattern")
        name = domain_of(address)
        value = address
    if not any(d.name == name for d in await deps.storage.inbound.domains(project_id)):
        raise Invalid(f"pattern: {name} is not one of this project's receiving domains; add it first", field="pattern")
    return name if match == "catch_all" else value


async def _action(deps: Deps, caller: Caller, route: InboundRoute, given: RouteInput) -> InboundRoute:
    action = route.action
    if action == "webhook":
        if given.webhook_id in (None, ""):
            return route
        if not isinstance(given.webhook_id, str) or not given.webhook_id.isprintable():
            raise Invalid("webhookId must be the id of one of this project's webhooks", field="webhookId")
        hook = await deps.storage.webhooks.get(caller.project_id, given.webhook_id)
        if hook is None:
            raise Invalid(f"webhookId: webhook {given.webhook_id} not found", field="webhookId")
        return evolve(route, webhook_id=hook.id)
    if action == "forward":
        return await _forward_fields(deps, caller, route, given)
    if action == "reject":
        code = 550 if given.smtp_code is None else given.smtp_code
        if not isinstance(code, int) or isinstance(code, bool) or code not in REJECT_CODES:
            raise Invalid("smtpCode must be one of 450-452 or 550-554", field="smtpCode")
        text = "Mailbox unavailable" if given.smtp_message in (None, "") else given.smtp_message
        if not isinstance(text, str) or len(text) > MAX_REPLY_TEXT or not text.isascii() or not text.isprintable():
            raise Invalid(f"smtpMessage must be up to {MAX_REPLY_TEXT} printable ASCII characters", field="smtpMessage")
        return evolve(route, smtp_code=code, smtp_message=text)
    return route


async def _forward_fields(deps: Deps, caller: Caller, route: InboundRoute, given: RouteInput) -> InboundRoute:
    to = check_address(given.forward_to, "forwardTo").lower()
    bounce = deps.config.bounce_domain.lower()
    if (bounce and domain_of(to) == bounce) or await deps.storage.inbound.domain_named(domain_of(to)) is not None:
        raise Invalid(
            "forwardTo: mail for a receiving domain or the bounce domain would come back here (a loop)",
            field="forwardTo",
        )
    sender = Mailbox.parse(check_address(given.forward_from, "forwardFrom"), "forwardFrom")
    domain = await deps.storage.domains.get_by_name(caller.project_id, sender.domain)
    if domain is None or domain.status is not DomainStatus.VERIFIED:
        raise Invalid(f"forwardFrom: {sender.domain} is not a verified domain of this project", field="forwardFrom")
    return evolve(route, forward_to=to, forward_from=sender.address)


async def forward(deps: Deps, route: InboundRoute, mail: ReadMail, inbound_id: str) -> tuple[str, str]:
    """Send the message on as the route says: (the new email's id, "") or ("", why it was not)."""
    caller = Caller.system(route.project_id)
    sender = parseaddr(mail.from_)[1]
    attachments = [
        AttachmentInput(
            filename=a.filename or f"attachment-{n}",
            content=base64.b64encode(data).decode(),
            content_type=a.content_type,
        )
        for n, (a, data) in enumerate(mail.files, start=1)
    ]
    command = SendCommand(
        to=route.forward_to,
        from_=route.forward_from,
        subject=(mail.subject or "(no subject)").replace("\n", " ")[:900],
        html=mail.html or None,
        text=mail.text or (None if mail.html else "(no text)"),
        reply_to=list(mail.reply_to) or ([sender] if sender else None),
        attachments=attachments or None,
        tags={"inbound_id": inbound_id, "route_id": route.id},
    )
    try:
        await admit(deps, caller)  # a suspended or flagged project sends nothing on either
        email, billed = await _built(deps, caller, command)
        await accept(deps, email, billed)
    except (Invalid, QuotaExceeded, AccountLocked) as error:  # the message is still received
        return "", str(error)
    return email.id, ""


async def _built(deps: Deps, caller: Caller, command: SendCommand) -> tuple[Email, tuple[Charge, ...]]:
    try:
        return await build_email(deps, caller, command)
    except Invalid as error:
        if error.field not in ("reply_to", "attachments"):
            raise
    # A sender's odd Reply-To or attachments over the send limit: the message still goes on, without them.
    plain = evolve(command, reply_to=None, attachments=None)
    return await build_email(deps, caller, plain)


def hook_deliveries_for(routes: list[InboundRoute | None]) -> tuple[bool, frozenset[str]]:
    """Which endpoints hear of a message the recipients' routes took: every `email.received`
    endpoint (no route, or a webhook route without one), and the endpoints routes name."""
    everyone = any(r is None or (r.action == "webhook" and not r.webhook_id) for r in routes)
    named = frozenset(r.webhook_id for r in routes if r is not None and r.action == "webhook" and r.webhook_id)
    return everyone, named
