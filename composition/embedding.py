"""AutoRelay inside your own program: the same core, the same rules, no HTTP and no API key.

    async with await AutoRelay.open(Settings.defaults(database_url="memory://")) as relay:
        email = await relay.send(to="ann@example.com", from_="hello@autorelay.net", subject="Hi", html="<p>Hi</p>")
        sent = await relay.wait(email.id)

The embedding application is the caller (`Caller.embedded`): it acts for one project (found or
created by name), is not rate limited, and meets every other rule the API meets (senders, quota,
suppressions, templates' limits, test mode). docs/EMBEDDING.md lists what is public.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.campaigns import Campaign
from autorelay_core.domain.contacts import Contact, ContactList
from autorelay_core.domain.domains import Domain
from autorelay_core.domain.emails import Email, EmailStatus, Event
from autorelay_core.domain.keys import KeyMode
from autorelay_core.domain.templates import Template
from autorelay_core.domain.webhooks import Webhook
from autorelay_core.errors import Conflict, NotFound
from autorelay_core.ports import JobQueue, Mailer, Storage
from autorelay_core.usecases import (
    manage_campaigns,
    manage_contacts,
    manage_domains,
    manage_keys,
    manage_templates,
    manage_webhooks,
    read_emails,
)
from autorelay_core.usecases.access import admit
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.manage_campaigns import CampaignInput
from autorelay_core.usecases.manage_contacts import ContactInput
from autorelay_core.usecases.manage_templates import TemplateInput
from autorelay_core.usecases.manage_webhooks import WebhookInput
from autorelay_core.usecases.send_batch import BatchResult, send_batch
from autorelay_core.usecases.send_email import SendCommand, send_email
from composition.build import build
from composition.services import Services
from composition.settings import Settings

# An email in this status has not left yet (nor failed).
_PENDING = frozenset({EmailStatus.QUEUED})


class AutoRelay:
    """One project's AutoRelay, opened inside the running event loop. Close it (or use `async with`)
    to stop its background work and release the database."""

    def __init__(self, services: Services, caller: Caller) -> None:
        self.services = services
        self.caller = caller
        self.templates = Templates(services.deps, caller)
        self.contacts = Contacts(services.deps, caller)
        self.campaigns = Campaigns(services.deps, caller)
        self.webhooks = Webhooks(services.deps, caller)
        self.domains = Domains(services.deps, caller)

    @classmethod
    async def open(
        cls,
        settings: Settings | None = None,
        *,
        storage: Storage | None = None,
        mailer: Mailer | None = None,
        queue: JobQueue | None = None,
        project: str = "default",
        mode: KeyMode = KeyMode.LIVE,
        deliver: bool = True,
    ) -> AutoRelay:
        """`settings`: as `autorelay serve` reads them (Settings.from_env() for the environment's);
        default: SQLite in ./autorelay-data, mail written to its log folder. `storage`, `mailer`,
        `queue`: your own adapters in place of the settings' choice. `project`: the project to act
        for, by name or id, created when no project has that name. `mode`: TEST sends never leave
        (they reach the log mailer). `deliver`: False to only accept mail, leaving delivery to
        separate `autorelay worker` processes on the same database."""
        settings = settings or Settings.defaults()
        services = build(settings, storage=storage, mailer=mailer, queue=queue)
        await services.start(consume=deliver)
        try:
            found = await _project(services.deps, project)
        except BaseException:
            await services.stop()
            raise
        return cls(services, Caller.embedded(found, mode))

    @property
    def deps(self) -> Deps:
        """The core's ports, for use cases this facade does not wrap."""
        return self.services.deps

    async def close(self) -> None:
        await self.services.stop()

    async def __aenter__(self) -> AutoRelay:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def send(self, command: SendCommand | None = None, /, **fields: Any) -> Email:
        """Accept one email (a SendCommand, or its fields: to, from_, subject, html, text,
        template_id, data, ...). Returns it queued; delivery follows in the background."""
        await admit(self.deps, self.caller)  # a locked account sends nothing, as on the API
        return await send_email(self.deps, self.caller, command or SendCommand(**fields))

    async def batch(self, commands: Sequence[SendCommand]) -> BatchResult:
        """Accept up to 100 emails; each row succeeds or fails on its own."""
        await admit(self.deps, self.caller)
        return await send_batch(self.deps, self.caller, [(c, c.to) for c in commands])

    async def get(self, email_id: str) -> tuple[Email, list[Event]]:
        """An email of this project and what happened to it."""
        return await read_emails.get_email(self.deps, self.caller, email_id)

    async def wait(self, email_id: str, *, within: float = 30.0) -> Email:
        """The email once it has left or failed (TimeoutError after `within` seconds)."""
        async with asyncio.timeout(within):
            while True:
                email, _ = await self.get(email_id)
                if email.status not in _PENDING:
                    return email
                await asyncio.sleep(0.02)


async def _project(deps: Deps, ref: str) -> str:
    """The project named (or with the id) `ref`; made, by that name, when there is none."""
    try:
        return (await manage_keys.find_project(deps, ref)).id
    except NotFound:
        pass
    try:
        return (await manage_keys.create_project(deps, ref)).id
    except Conflict:  # another process made it meanwhile
        return (await manage_keys.find_project(deps, ref)).id


class _Part:
    def __init__(self, deps: Deps, caller: Caller) -> None:
        self.deps, self.caller = deps, caller

    async def _writing(self) -> None:
        """A change is refused while the project's account is locked, as the API refuses it."""
        await admit(self.deps, self.caller)

    @property
    def project_id(self) -> str:
        return self.caller.project_id


class Templates(_Part):
    async def create(self, name: str, subject: str, html: str, text: str | None = None) -> Template:
        await self._writing()
        fields = TemplateInput(name=name, subject=subject, html=html, text=text)
        return await manage_templates.create_template(self.deps, self.caller, fields)

    async def get(self, template_id: str) -> Template:
        return await manage_templates.get_template(self.deps, self.caller, template_id)

    async def update(self, template_id: str, **fields: str | None) -> Template:
        await self._writing()
        return await manage_templates.update_template(self.deps, self.caller, template_id, TemplateInput(**fields))

    async def delete(self, template_id: str) -> None:
        await self._writing()
        await manage_templates.delete_template(self.deps, self.caller, template_id)


class Contacts(_Part):
    async def create_list(self, name: str, *, double_opt_in: bool = False) -> ContactList:
        await self._writing()
        return await manage_contacts.create_list(self.deps, self.caller, name, double_opt_in)

    async def add(self, list_id: str, email: str, *, name: str | None = None, company: str | None = None) -> Contact:
        """A contact on the list: subscribed at once, or (double opt-in lists) pending its code."""
        await self._writing()
        fields = ContactInput(email=email, list_id=list_id, name=name, company=company)
        return await manage_contacts.create_contact(self.deps, self.caller, fields)

    async def get(self, contact_id: str) -> Contact:
        return await manage_contacts.get_contact(self.deps, self.caller, contact_id)

    async def update(self, contact_id: str, **fields: str | None) -> Contact:
        await self._writing()
        return await manage_contacts.update_contact(self.deps, self.caller, contact_id, ContactInput(**fields))

    async def delete(self, contact_id: str) -> None:
        await self._writing()
        await manage_contacts.delete_contact(self.deps, self.caller, contact_id)


class Campaigns(_Part):
    async def create(self, name: str, subject: str, from_email: str, list_id: str, content: str) -> Campaign:
        await self._writing()
        fields = CampaignInput(name=name, subject=subject, from_email=from_email, list_id=list_id, content=content)
        return await manage_campaigns.create_campaign(self.deps, self.caller, fields)

    async def get(self, campaign_id: str) -> Campaign:
        return await manage_campaigns.get_campaign(self.deps, self.caller, campaign_id)

    async def launch(self, campaign_id: str) -> Campaign:
        """One email per subscribed contact of the campaign's list, paced (AUTORELAY_CAMPAIGN_RATE)."""
        await self._writing()
        return await manage_campaigns.launch_campaign(self.deps, self.caller, campaign_id)

    async def pause(self, campaign_id: str) -> Campaign:
        await self._writing()
        return await manage_campaigns.pause_campaign(self.deps, self.caller, campaign_id)

    async def resume(self, campaign_id: str) -> Campaign:
        await self._writing()
        return await manage_campaigns.resume_campaign(self.deps, self.caller, campaign_id)


class Webhooks(_Part):
    async def create(self, url: str, events: list[str], *, format: str | None = None) -> tuple[Webhook, str]:
        """The webhook and its signing secret (shown this once)."""
        await self._writing()
        fields = WebhookInput(url=url, events=events, format=format)
        return await manage_webhooks.create_webhook(self.deps, self.caller, fields, self.caller.is_test)

    async def list(self) -> list[Webhook]:
        return await manage_webhooks.list_webhooks(self.deps, self.caller, self.caller.is_test)

    async def delete(self, webhook_id: str) -> None:
        await self._writing()
        await manage_webhooks.delete_webhook(self.deps, self.caller, webhook_id, self.caller.is_test)


class Domains(_Part):
    async def add(self, name: str) -> Domain:
        """A sending domain and the DNS records (DKIM, SPF, ...) to publish for it."""
        await self._writing()
        return await manage_domains.create_domain(self.deps, self.caller, name)

    async def verify(self, domain_id: str) -> manage_domains.Verification:
        """Look the domain's records up in DNS; verified when every one is published."""
        await self._writing()
        return await manage_domains.verify_domain(self.deps, self.caller, domain_id)

    async def trust(self, name: str) -> Domain:
        """Mark a domain verified without looking at DNS: for an application that sends only through
        a relay that signs its mail itself (the operator's word, like `autorelay domains verify`)."""
        return await manage_domains.mark_verified(self.deps, self.caller, name)
