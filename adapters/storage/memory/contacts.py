"""Contacts, lists, OTP codes, suppressions and campaigns in memory (see store.py: each method
is atomic because nothing awaits midway)."""

from __future__ import annotations

from datetime import datetime

from attrs import evolve

from adapters.storage.memory.segments import MemorySegmentQueries
from autorelay_core.domain.campaigns import Campaign, CampaignStatus
from autorelay_core.domain.contacts import Contact, ContactList, ContactStatus
from autorelay_core.domain.otp import OtpCode
from autorelay_core.domain.suppressions import Suppression
from autorelay_core.errors import Conflict
from autorelay_core.policies.pagination import OffsetPage, OffsetRequest
from autorelay_core.ports import CampaignCounts, ContactQuery


def _clash(contact: Contact) -> Conflict:
    return Conflict(f"the list already has a contact with the email {contact.email}")


def _copy(contact: Contact) -> Contact:
    """A copy that shares nothing mutable with the stored row."""
    return evolve(contact, properties=dict(contact.properties))


class MemoryContacts(MemorySegmentQueries):
    def __init__(self) -> None:
        self.rows: dict[str, Contact] = {}
        self.audience = (
            (),
            (),
            (),
        )  # (properties, events, topics), bound by the store  # insertion order is the page order

    def _taken(self, list_id: str, key: str, but: str | None = None) -> bool:
        return any(c.list_id == list_id and c.email_key == key and c.id != but for c in self.rows.values())

    async def add(self, contact: Contact) -> None:
        if self._taken(contact.list_id, contact.email_key):
            raise _clash(contact)
        self.rows[contact.id] = _copy(contact)

    async def add_many(self, contacts: list[Contact]) -> list[Contact]:
        taken = {(c.list_id, c.email_key) for c in self.rows.values()}
        inserted = []
        for contact in contacts:
            if (contact.list_id, contact.email_key) not in taken:
                taken.add((contact.list_id, contact.email_key))
                self.rows[contact.id] = _copy(contact)
                inserted.append(contact)
        return inserted

    async def get(self, project_id: str, contact_id: str) -> Contact | None:
        contact = self.rows.get(contact_id)
        return _copy(contact) if contact and contact.project_id == project_id else None

    async def get_many(self, project_id: str, contact_ids: list[str]) -> list[Contact]:
        found = (self.rows.get(i) for i in contact_ids)
        return [_copy(c) for c in found if c is not None and c.project_id == project_id]

    async def of_person(self, project_id: str, email_key: str) -> list[Contact]:
        return [_copy(c) for c in self.rows.values() if c.project_id == project_id and c.email_key == email_key]

    async def people(self, project_id: str, limit: int, after: str | None = None) -> list[Contact]:
        oldest: dict[str, Contact] = {}
        for contact in self.rows.values():  # insertion order: the oldest first
            if contact.project_id == project_id:
                oldest.setdefault(contact.email_key, contact)
        found = list(oldest.values())
        if after is not None:
            order = list(self.rows)
            mark = order.index(after) if after in self.rows and self.rows[after].project_id == project_id else -1
            found = [c for c in found if order.index(c.id) > mark]
        return [_copy(c) for c in found[:limit]]

    async def update(self, contact: Contact) -> None:
        if self._taken(contact.list_id, contact.email_key, but=contact.id):
            raise _clash(contact)
        self.rows[contact.id] = _copy(contact)

    async def delete(self, project_id: str, contact_id: str) -> bool:
        contact = self.rows.get(contact_id)
        if contact is None or contact.project_id != project_id:
            return False
        del self.rows[contact_id]
        return True

    async def page(self, project_id: str, query: ContactQuery, page: OffsetRequest) -> OffsetPage[Contact]:
        needle = query.search.lower() if query.search else None
        found = [
            c
            for c in self.rows.values()
            if c.project_id == project_id
            and c.list_id == query.list_id
            and (query.status is None or c.status is query.status)
            and (needle is None or needle in c.email_key or needle in (c.name or "").lower())
        ]
        chosen = found[page.offset : page.offset + page.page_size]
        return OffsetPage(items=[_copy(c) for c in chosen], total=len(found))

    async def count(self, project_id: str) -> int:
        return sum(1 for c in self.rows.values() if c.project_id == project_id)

    async def confirm_pending(self, project_id: str, email_key: str) -> int:
        changed = 0
        for contact in self.rows.values():
            if contact.project_id == project_id and contact.email_key == email_key:
                if contact.status is ContactStatus.PENDING:
                    contact.status = ContactStatus.SUBSCRIBED
                    changed += 1
        return changed

    async def unsubscribe(self, project_id: str, contact_id: str, list_id: str) -> bool:
        contact = self.rows.get(contact_id)
        if contact is None or (contact.project_id, contact.list_id) != (project_id, list_id):
            return False
        if contact.status not in (ContactStatus.SUBSCRIBED, ContactStatus.PENDING):
            return False
        contact.status = ContactStatus.UNSUBSCRIBED
        return True

    async def mark_undeliverable(self, project_id: str, email_key: str, status: ContactStatus) -> int:
        final = (ContactStatus.BOUNCED, ContactStatus.COMPLAINED)
        changed = 0
        for contact in self.rows.values():
            if contact.project_id == project_id and contact.email_key == email_key and contact.status not in final:
                contact.status = status
                changed += 1
        return changed


class MemorySuppressions:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Suppression] = {}

    async def add(self, suppression: Suppression) -> None:
        self._rows.setdefault((suppression.project_id, suppression.email_key), suppression)

    async def matching(self, project_id: str, email_keys: list[str]) -> list[Suppression]:
        return [self._rows[(project_id, k)] for k in dict.fromkeys(email_keys) if (project_id, k) in self._rows]

    async def page(self, project_id: str, limit: int, after: str | None) -> list[Suppression]:
        keys = sorted(k for p, k in self._rows if p == project_id and (after is None or k > after))
        return [self._rows[(project_id, k)] for k in keys[:limit]]

    async def remove(self, project_id: str, email_key: str) -> bool:
        return self._rows.pop((project_id, email_key), None) is not None


class MemoryLists:
    def __init__(self, contacts: MemoryContacts) -> None:
        self._rows: dict[str, ContactList] = {}
        self._contacts = contacts

    def _counted(self, found: ContactList) -> ContactList:
        count = sum(1 for c in self._contacts.rows.values() if c.list_id == found.id)
        return evolve(found, contact_count=count)

    async def add(self, contact_list: ContactList) -> None:
        self._rows[contact_list.id] = evolve(contact_list)

    async def get(self, project_id: str, list_id: str, *, counted: bool = True) -> ContactList | None:
        found = self._rows.get(list_id)
        if found is None or found.project_id != project_id:
            return None
        return self._counted(found) if counted else evolve(found)

    async def all(self, project_id: str) -> list[ContactList]:
        return [self._counted(x) for x in self._rows.values() if x.project_id == project_id]

    async def update(self, contact_list: ContactList) -> None:
        self._rows[contact_list.id] = evolve(contact_list, contact_count=0)

    async def delete(self, project_id: str, list_id: str) -> bool:
        found = self._rows.get(list_id)
        if found is None or found.project_id != project_id:
            return False
        del self._rows[list_id]
        for contact_id in [c.id for c in self._contacts.rows.values() if c.list_id == list_id]:
            del self._contacts.rows[contact_id]
        return True


class MemoryOtp:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], OtpCode] = {}

    async def put(self, code: OtpCode) -> None:
        self._rows[(code.project_id, code.email_key, code.purpose)] = evolve(code)

    async def current(self, project_id: str, email_key: str, purpose: str) -> OtpCode | None:
        found = self._rows.get((project_id, email_key, purpose))
        return evolve(found) if found else None

    def _same(self, code: OtpCode) -> OtpCode | None:
        found = self._rows.get((code.project_id, code.email_key, code.purpose))
        return found if found and found.id == code.id else None

    async def use(self, code: OtpCode, at: datetime) -> bool:
        found = self._same(code)
        if found is None or found.used_at is not None or found.wrong != code.wrong:
            return False
        found.used_at = at
        return True

    async def wrong_try(self, code: OtpCode) -> None:
        found = self._same(code)
        if found is not None:
            found.wrong += 1


_RUNNING = (CampaignStatus.SENDING, CampaignStatus.PAUSED)


class MemoryCampaigns:
    def __init__(self) -> None:
        self._rows: dict[str, Campaign] = {}  # insertion order; pages are newest first
        self._rest: dict[str, dict[str, None]] = {}  # campaign -> contact ids, in the order kept

    async def add(self, campaign: Campaign) -> None:
        self._rows[campaign.id] = evolve(campaign)

    async def get(self, project_id: str, campaign_id: str) -> Campaign | None:
        found = self._rows.get(campaign_id)
        return evolve(found) if found and found.project_id == project_id else None

    async def page(self, project_id: str, status: CampaignStatus | None, page: OffsetRequest) -> OffsetPage[Campaign]:
        found = [
            c
            for c in reversed(self._rows.values())
            if c.project_id == project_id and (status is None or c.status is status)
        ]
        chosen = found[page.offset : page.offset + page.page_size]
        return OffsetPage(items=[evolve(c) for c in chosen], total=len(found))

    async def update(self, campaign: Campaign) -> None:
        stored = self._rows.get(campaign.id)
        self._rows[campaign.id] = evolve(campaign, unsubscribed=stored.unsubscribed if stored else 0)

    async def count_unsubscribed(self, project_id: str, campaign_id: str) -> None:
        found = self._rows.get(campaign_id)
        if found is not None and found.project_id == project_id:
            found.unsubscribed += 1

    async def delete(self, project_id: str, campaign_id: str) -> bool:
        found = self._rows.get(campaign_id)
        if found is None or found.project_id != project_id:
            return False
        del self._rows[campaign_id]
        return True

    async def keep_rest(self, campaign_id: str, contact_ids: list[str]) -> None:
        self._rest.setdefault(campaign_id, {}).update(dict.fromkeys(contact_ids))

    async def rest(self, campaign_id: str) -> list[str]:
        return list(self._rest.get(campaign_id, ()))

    async def drop_rest(self, campaign_id: str) -> None:
        self._rest.pop(campaign_id, None)

    async def running(self) -> list[Campaign]:
        return [evolve(c) for c in self._rows.values() if c.status in _RUNNING]

    async def counts(self, project_id: str) -> CampaignCounts:
        mine = [c for c in self._rows.values() if c.project_id == project_id]
        sending = sum(1 for c in mine if c.status is CampaignStatus.SENDING)
        completed = sum(1 for c in mine if c.status is CampaignStatus.COMPLETED)
        return CampaignCounts(len(mine), sending, completed)
