"""Campaigns: drafts (create, read, page, edit, delete), launch, and live progress.

The sender's domain is checked at launch, not here, so drafts can be written before the domain is
verified (API-DECISIONS)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from attrs import evolve, frozen

from autorelay_core.domain.ab_tests import assign
from autorelay_core.domain.addresses import Mailbox
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.campaigns import Campaign, CampaignStatus
from autorelay_core.domain.contacts import Contact, ContactStatus
from autorelay_core.domain.emails import Email, EmailStatus, Event, EventType
from autorelay_core.domain.headers import not_text_problem, one_line_problem
from autorelay_core.domain.projects import AccountStatus
from autorelay_core.domain.templates import MAX_TEMPLATE_CHARS
from autorelay_core.errors import Conflict, Invalid, QuotaExceeded
from autorelay_core.policies.pagination import OffsetPage, OffsetRequest
from autorelay_core.policies.quota import Charge, exceeded_message
from autorelay_core.ports import ContactQuery
from autorelay_core.usecases.campaign_variants import Version, parse_ab_test, versions
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.manage_contacts import find_list
from autorelay_core.usecases.manage_properties import as_read
from autorelay_core.usecases.manage_segments import get_segment
from autorelay_core.usecases.manage_segments import recipients as segment_recipients
from autorelay_core.usecases.manage_templates import parsed
from autorelay_core.usecases.manage_topics import get_topic, in_topic
from autorelay_core.usecases.send_email import new_message_id, sender_charges
from autorelay_core.usecases.unsubscribe import links_for, preferences_link


@frozen
class CampaignInput:
    """A create (every field required) or an update (any subset; null keeps a field)."""

    name: str | None = None
    subject: str | None = None
    from_email: str | None = None
    list_id: str | None = None
    content: str | None = None
    segment_id: str | None = None  # instead of a list
    topic_id: str | None = None  # "" leaves the topic it had
    ab_test: Any = None  # the test as the API gives it (campaign_variants.parse_ab_test); False removes it


def _text(value: Any, field: str, *, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{field} must not be empty", field=field)
    if len(value) > limit:
        raise Invalid(f"{field} must be at most {limit} characters", field=field)
    problem = not_text_problem(value)
    if problem is not None:
        raise Invalid(f"{field} {problem}", field=field)
    return value


async def _checked(deps: Deps, caller: Caller, fields: CampaignInput) -> dict[str, Any]:
    """The given fields, each checked; the keys are Campaign's attribute names."""
    changes: dict[str, Any] = {}
    if fields.name is not None:
        changes["name"] = _text(fields.name, "name", limit=256).strip()
    if fields.subject is not None:
        changes["subject"] = _text(fields.subject, "subject", limit=998)
        problem = one_line_problem(fields.subject, tab=True)
        if problem is not None:
            raise Invalid(f"subject {problem}", field="subject")
    if fields.from_email is not None:
        changes["from_email"] = _sender(fields.from_email)
    if fields.list_id is not None and fields.segment_id is not None:
        raise Invalid("a campaign goes to a list or to a segment, not both", field="segment_id")
    if fields.list_id is not None:
        changes |= {"list_id": (await find_list(deps, caller, fields.list_id)).id, "segment_id": None}
    if fields.segment_id is not None:
        changes |= {"segment_id": (await get_segment(deps, caller, fields.segment_id)).id, "list_id": ""}
    if fields.topic_id is not None:
        topic_id = fields.topic_id
        changes["topic_id"] = (await get_topic(deps, caller, topic_id)).id if topic_id else None
    if fields.ab_test is not None:
        changes["ab_test"] = await parse_ab_test(deps, fields.ab_test)
    if fields.content is not None:
        changes["content"] = _text(fields.content, "content", limit=MAX_TEMPLATE_CHARS)
    # Parse now so that a broken template is refused when saved, not when the campaign runs.
    for field in ("subject", "content"):
        if field in changes:
            await parsed(deps, changes[field], field)
    return changes


def _sender(value: Any) -> str:
    """The campaign's From: an address, or a name and an address (`News <news@example.com>`)."""
    try:
        return Mailbox.parse(value, "the sender").formatted()
    except Invalid as refused:
        if isinstance(value, str) and value.strip() and "must not contain" in refused.message:
            raise Invalid(refused.message, field="from_email") from None
        shown = f": {value!r}" if isinstance(value, str) and value.strip() else ""
        raise Invalid(
            f"the sender must be an address, or a name and an address like 'News <news@example.com>'{shown}",
            field="from_email",
        ) from None


# (attribute, what a person calls it)
_REQUIRED = (
    ("name", "name"),
    ("subject", "subject"),
    ("from_email", "a sender"),
    ("content", "content"),
)


async def create_campaign(deps: Deps, caller: Caller, fields: CampaignInput) -> Campaign:
    project_id = caller.project_id
    for name, called in _REQUIRED:
        if getattr(fields, name) is None:
            raise Invalid(f"{called} is required", field=name)
    if fields.list_id is None and fields.segment_id is None:
        raise Invalid("a list is required (or a segment)", field="list_id")
    changes = await _checked(deps, caller, fields)
    now = deps.clock.now()
    campaign = Campaign(id=deps.ids.new("cmp"), project_id=project_id, created_at=now, updated_at=now, **changes)
    await deps.storage.campaigns.add(campaign)
    return campaign


async def get_campaign(deps: Deps, caller: Caller, campaign_id: str) -> Campaign:
    project_id = caller.project_id
    return found(await deps.storage.campaigns.get(project_id, campaign_id), f"campaign {campaign_id}")


async def list_campaigns(deps: Deps, caller: Caller, status: str | None, page: OffsetRequest) -> OffsetPage[Campaign]:
    project_id = caller.project_id
    wanted = None
    if status is not None:
        try:
            wanted = CampaignStatus(status)
        except ValueError:
            known = ", ".join(s.value for s in CampaignStatus)
            raise Invalid(f"status must be one of: {known}", field="status") from None
    return await deps.storage.campaigns.page(project_id, wanted, page)


async def update_campaign(deps: Deps, caller: Caller, campaign_id: str, fields: CampaignInput) -> Campaign:
    campaign = await get_campaign(deps, caller, campaign_id)
    campaign.check_editable()  # 409 once launched
    changes = await _checked(deps, caller, fields)
    updated = evolve(campaign, **changes, updated_at=deps.clock.now())
    await deps.storage.campaigns.update(updated)
    return updated


async def delete_campaign(deps: Deps, caller: Caller, campaign_id: str) -> None:
    project_id = caller.project_id
    campaign = await get_campaign(deps, caller, campaign_id)
    campaign.check_deletable()  # 409 "Only draft campaigns can be deleted"
    await deps.storage.campaigns.delete(project_id, campaign_id)


async def launch_campaign(
    deps: Deps, caller: Caller, campaign_id: str, *, starts_at: datetime | None = None
) -> Campaign:
    """Snapshot the list's subscribed contacts into one outbox email each, rendered for that contact
    and due at the project's pace (from `starts_at` when the launch is scheduled), then mark the
    campaign `sending`. The outbox makes the sending crash-safe: each email is claimed under a lease
    and recorded once. Launching again after a crash midway adds only what is missing."""
    campaign = await get_campaign(deps, caller, campaign_id)
    if campaign.status is not CampaignStatus.DRAFT:
        raise Conflict("The campaign was already launched")
    now = deps.clock.now()
    if starts_at is not None:
        if starts_at - now > deps.config.max_schedule_ahead:
            raise Invalid(f"A campaign may start at most {deps.config.max_schedule_ahead.days} days ahead")
        if starts_at <= now:
            starts_at = None
    sender = Mailbox.parse(campaign.from_email, "the sender")
    # The sender's domain must be verified (live keys); every recipient is one email of the quota,
    # charged with the insert: a campaign that does not fit is refused whole (402).
    charges = await sender_charges(deps, caller, sender)
    if campaign.segment_id is not None:  # resolved once, here: the frozen set the runner sends to
        chosen = await segment_recipients(deps, caller, campaign.segment_id)
    else:
        chosen = (
            await deps.storage.contacts.page(
                caller.project_id,
                ContactQuery(campaign.list_id, status=ContactStatus.SUBSCRIBED),
                OffsetRequest(1, 10**9),
            )
        ).items
    if campaign.topic_id is not None:  # only those in the topic, as they stand now
        chosen = await in_topic(deps, await get_topic(deps, caller, campaign.topic_id), chosen)
    recipients = await as_read(deps, caller.project_id, chosen)  # with their properties' defaults
    groups = None
    if campaign.ab_test is not None:  # the test share now; the rest, kept, when the winner is known
        test = campaign.ab_test
        groups, rest = assign(campaign.id, [c.email_key for c in recipients], test.test_percent, len(test.variants))
        by_person = {c.email_key: c.id for c in recipients}
        # The whole campaign must fit the quota now, as a campaign without a test must: the rest is
        # charged when its winner is queued, and a test whose rest could not go is worse than none.
        await _check_fits(deps, caller.project_id, charges, len(recipients))
        await deps.storage.campaigns.keep_rest(campaign.id, [by_person[key] for key in rest])
        recipients = [c for c in recipients if c.email_key in groups]
        campaign = evolve(campaign, ab_test=evolve(test, test_mode=caller.is_test))
    # Rendering is CPU work on tenant templates: off the event loop, stopping at the first failure.
    start = starts_at or now
    emails = await deps.offload.run(campaign_emails, deps, caller, campaign, sender, recipients, start, groups)
    await deps.storage.emails.add_many(emails, [Event(EventType.QUEUED, now)], charges)
    deps.metrics.email_accepted(test=caller.is_test, count=len(emails))
    launched = evolve(
        campaign, status=CampaignStatus.SENDING, launched_at=now, total=len(emails), updated_at=now, starts_at=starts_at
    )
    if not emails and campaign.ab_test is None:
        launched = evolve(launched, status=CampaignStatus.COMPLETED)
    await deps.storage.campaigns.update(launched)
    deps.queue.wake()
    return launched


async def _check_fits(deps: Deps, project_id: str, charges: tuple[Charge, ...], amount: int) -> None:
    for charge in charges:
        if await deps.storage.quota.usage(project_id, charge.counter, charge.period) + amount > charge.limit:
            raise QuotaExceeded(exceeded_message(charge, amount))


_UNSUBSCRIBE = (
    '<p style="margin-top:32px;font-size:12px;color:#666">'
    'You receive this email because you subscribed. <a href="{{ unsubscribe_url }}">Unsubscribe</a>'
)
_FOOTER = _UNSUBSCRIBE + ' · <a href="{{ preferences_url }}">Email preferences</a></p>'
_UNSUBSCRIBE_ONLY = _UNSUBSCRIBE + "</p>"


_PREFERENCES = (
    '<p style="margin-top:16px;font-size:12px;color:#666">'
    '<a href="{{ preferences_url }}">Choose which emails you get</a></p>'
)


def with_unsubscribe_link(deps: Deps, content: str) -> str:
    """The content, with a small footer for what it does not place itself: the unsubscribe link
    (every campaign email must offer a visible way out, CAN-SPAM) and the preference page's (where
    a person keeps some topics and leaves others, or leaves everything)."""
    placed = deps.templates.variables(content)
    wanted = "unsubscribe_url" not in placed, "preferences_url" not in placed
    footer = {(True, True): _FOOTER, (True, False): _UNSUBSCRIBE_ONLY, (False, True): _PREFERENCES}.get(wanted)
    if footer is None:
        return content
    closing = content.lower().rfind("</body>")
    if closing == -1:
        return content + footer
    return content[:closing] + footer + content[closing:]


def text_template(deps: Deps, content: str) -> str | None:
    """The plain-text part as a template, converted from the HTML once for the whole campaign
    instead of once per recipient (the conversion is the costliest step of a message). The template
    tags pass through the conversion as text; None (convert each message at delivery) when they
    did not survive it intact."""
    text = deps.html_to_text.convert(content)
    try:
        if deps.templates.variables(text) != deps.templates.variables(content):
            return None
    except Invalid:
        return None
    return text


@frozen
class _Prepared:
    """A version ready to render for each contact: its content with the unsubscribe footer, and
    its plain-text template (converted once)."""

    version: Version
    content: str
    text: str | None


def _prepared(deps: Deps, version: Version) -> _Prepared:
    content = with_unsubscribe_link(deps, version.content)
    return _Prepared(version, content, text_template(deps, content))


def campaign_emails(
    deps: Deps,
    caller: Caller,
    campaign: Campaign,
    sender: Mailbox,
    contacts: list[Contact],
    now: datetime,
    groups: dict[str, int] | None = None,
    only: Version | None = None,
) -> list[Email]:
    """One email per contact at the campaign's pace from `now`: the campaign's own version, each
    contact's variant in `groups` (an A/B test's share), or `only` (its winner, for the rest)."""
    pace = deps.config.campaign_rate
    prepared = [_prepared(deps, v) for v in ([only] if only else versions(campaign, sender))]
    emails = []
    for index, contact in enumerate(contacts):
        chosen = prepared[groups[contact.email_key] if groups is not None else 0]
        due = now + timedelta(seconds=index / pace)
        emails.append(_email_for(deps, caller, campaign, chosen, contact, due))
    return emails


# What a campaign fills for each contact: every field of the contact, each of the project's contact
# properties, and its unsubscribe link. The studio offers exactly these (adapters/dashboard), and
# the previews use the same.
CONTACT_VARIABLES = ("email", "name", "company")
CAMPAIGN_VARIABLES = (*CONTACT_VARIABLES, "unsubscribe_url", "preferences_url")


async def campaign_variables(deps: Deps, caller: Caller) -> tuple[str, ...]:
    """CAMPAIGN_VARIABLES with the project's contact properties among them."""
    keys = [p.key for p in await deps.storage.properties.all(caller.project_id)]
    return (*CONTACT_VARIABLES, *keys, "unsubscribe_url", "preferences_url")


def contact_data(contact: Contact | None, unsubscribe_url: str, preferences_url: str = "") -> dict[str, Any]:
    """A contact's template data (a placeholder one without a contact: a preview with no list).
    Its properties as read (manage_properties.as_read): typed, so `{% if vip %}` and
    `{{ seats * 10 }}` work; an unset one without a default is empty."""
    if contact is None:
        return {
            "email": "someone@example.com",
            "name": "",
            "company": "",
            "unsubscribe_url": unsubscribe_url,
            "preferences_url": preferences_url,
        }
    return {
        **{key: "" if value is None else value for key, value in contact.properties.items()},
        "email": contact.email,
        "name": contact.name or "",
        "company": contact.company or "",
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
    }


def _email_for(
    deps: Deps, caller: Caller, campaign: Campaign, prepared: _Prepared, contact: Contact, due: datetime
) -> Email:
    links = links_for(deps, contact, campaign.id, campaign.topic_id)
    data = contact_data(contact, links.url, preferences_link(deps, contact))
    html, text, version = prepared.content, prepared.text, prepared.version
    email_id = deps.ids.new("em")
    return Email(
        id=email_id,
        project_id=caller.project_id,
        message_id=new_message_id(version.sender, email_id),
        sender=version.sender.formatted(),
        to=(contact.email,),
        subject=deps.templates.render(version.subject, data, strict=False, html=False),
        html=deps.templates.render(html, data, strict=False),
        text=None if text is None else deps.templates.render(text, data, strict=False, html=False),
        headers=links.headers,
        created_at=deps.clock.now(),
        scheduled_at=due,
        tags={"campaign": campaign.id},
        test=caller.is_test,
        campaign_id=campaign.id,
        contact_id=contact.id,
        variant=version.variant,
    )


_SENT = (EmailStatus.SENT, EmailStatus.OPENED, EmailStatus.CLICKED, EmailStatus.COMPLAINED)
_FAILED = (EmailStatus.FAILED, EmailStatus.BOUNCED)


@frozen
class Progress:
    campaign: Campaign
    statuses: dict[EmailStatus, int]


@frozen
class Numbers:
    """What a campaign's page and its API answer show: progress and engagement."""

    total: int
    sent: int
    failed: int
    uncertain: int  # left by a worker stopped mid hand-over: held for the operator, or resent
    percent: float
    delivered: int
    opened: int
    clicked: int
    bounced: int
    complained: int
    unsubscribed: int


def numbers(campaign: Campaign, statuses: dict[EmailStatus, int] | None = None) -> Numbers:
    count = (statuses or {}).get
    uncertain = count(EmailStatus.UNCERTAIN, 0)
    done = campaign.sent + campaign.failed + uncertain
    return Numbers(
        total=campaign.total,
        sent=campaign.sent,
        failed=campaign.failed,
        uncertain=uncertain,
        percent=round(100 * done / campaign.total, 1) if campaign.total else 0,
        delivered=campaign.sent,  # accepted by the next hop (SES Delivery events refine it)
        opened=count(EmailStatus.OPENED, 0) + count(EmailStatus.CLICKED, 0),
        clicked=count(EmailStatus.CLICKED, 0),
        bounced=count(EmailStatus.BOUNCED, 0),
        complained=count(EmailStatus.COMPLAINED, 0),
        unsubscribed=campaign.unsubscribed,
    )


async def progress(deps: Deps, campaign: Campaign) -> Progress:
    """Live counts from the campaign's emails; a sending campaign with nothing left queued is
    finished here: `completed`, or `failed` when nothing could be sent."""
    if campaign.status is CampaignStatus.DRAFT:
        return Progress(campaign, {})
    statuses = await deps.storage.campaign_mail.statuses(campaign.id)
    sent = sum(statuses.get(s, 0) for s in _SENT)
    failed = sum(statuses.get(s, 0) for s in _FAILED)
    counted = evolve(campaign, sent=sent, failed=failed)
    testing = campaign.ab_test is not None and campaign.ab_test.winner is None  # the rest is to come
    if campaign.status is CampaignStatus.SENDING and not statuses.get(EmailStatus.QUEUED) and not testing:
        finished = CampaignStatus.FAILED if failed and not sent else CampaignStatus.COMPLETED
        counted = evolve(counted, status=finished, updated_at=deps.clock.now())
    if (counted.status, counted.sent, counted.failed) != (campaign.status, campaign.sent, campaign.failed):
        await deps.storage.campaigns.update(counted)
    return Progress(counted, statuses)


async def finish_campaigns(deps: Deps) -> list[Campaign]:
    """The reconciler's round: pause or resume campaigns to follow their account's status (again:
    a change made elsewhere, or a crash right after one, is caught here), then bring every running
    campaign's counts and status up to date."""
    running = await deps.storage.campaigns.running()
    statuses: dict[str, AccountStatus | None] = {}
    for campaign in running:
        if campaign.project_id not in statuses:
            project = await deps.storage.projects.get(campaign.project_id)
            statuses[campaign.project_id] = project.status if project else None
    finished = []
    for campaign in running:
        campaign = await _follow(deps, campaign, statuses[campaign.project_id] is AccountStatus.ACTIVE)
        finished.append((await progress(deps, campaign)).campaign)
    return finished


async def follow_account(deps: Deps, project_id: str, status: AccountStatus) -> None:
    """The account's status changed: its running campaigns pause (not active) or resume (active)."""
    for campaign in await deps.storage.campaigns.running():
        if campaign.project_id == project_id:
            await _follow(deps, campaign, status is AccountStatus.ACTIVE)


async def pause_campaign(deps: Deps, caller: Caller, campaign_id: str) -> Campaign:
    """A person pauses a sending campaign: its queued emails are held (one being handed over may
    still leave) until that person, or another, resumes it; the account's status never does."""
    campaign = await get_campaign(deps, caller, campaign_id)
    if campaign.status not in (CampaignStatus.SENDING, CampaignStatus.PAUSED):
        raise Conflict(f"Only a sending campaign can be paused; this one is {campaign.status.value}")
    await deps.storage.campaign_mail.hold(campaign.id)
    paused = evolve(campaign, status=CampaignStatus.PAUSED, paused_by_user=True, updated_at=deps.clock.now())
    await deps.storage.campaigns.update(paused)
    return paused


async def resume_campaign(deps: Deps, caller: Caller, campaign_id: str) -> Campaign:
    """Undo a person's pause. While the account is not active the campaign stays paused by it."""
    project_id = caller.project_id
    campaign = await get_campaign(deps, caller, campaign_id)
    if not campaign.paused_by_user:
        raise Conflict("This campaign was not paused by a person; it resumes by itself when the account is active")
    project = await deps.storage.projects.get(project_id)
    resumed = evolve(campaign, paused_by_user=False, updated_at=deps.clock.now())
    await deps.storage.campaigns.update(resumed)
    return await _follow(deps, resumed, project is not None and project.status is AccountStatus.ACTIVE)


async def _follow(deps: Deps, campaign: Campaign, active: bool) -> Campaign:
    now = deps.clock.now()
    if campaign.paused_by_user:
        # Held again each round, like a pause for the account: a lease that ran out must not send.
        await deps.storage.campaign_mail.hold(campaign.id)
        return campaign
    if not active:
        # Held again each round: an email whose lease ran out after the pause is pending again.
        await deps.storage.campaign_mail.hold(campaign.id)
        if campaign.status is CampaignStatus.SENDING:
            campaign = evolve(campaign, status=CampaignStatus.PAUSED, updated_at=now)
            await deps.storage.campaigns.update(campaign)
        return campaign
    # Released whatever the status says: a crash between the two writes must not strand held mail.
    if await deps.storage.campaign_mail.release(campaign.id, now):
        deps.queue.wake()
    if campaign.status is CampaignStatus.PAUSED:
        campaign = evolve(campaign, status=CampaignStatus.SENDING, updated_at=now)
        await deps.storage.campaigns.update(campaign)
    return campaign


def render_for(deps: Deps, campaign: Campaign, contact: Contact | None) -> tuple[str, str]:
    """The subject and HTML one contact would get (placeholder data without a contact), for a
    preview or a test send; the unsubscribe link points nowhere. CPU-bound: run through Offload."""
    data = contact_data(contact, "#unsubscribe-link-of-each-contact", "#preferences-link-of-each-contact")
    content = with_unsubscribe_link(deps, campaign.content)
    render = deps.templates.render
    return render(campaign.subject, data, strict=False, html=False), render(content, data, strict=False)
