"""Contacts and the lists they belong to. A contact belongs to one list; within a list an address
appears once, compared case-insensitively (stored as given)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from attrs import Factory, define

from autorelay_core.domain.properties import Values
from autorelay_core.errors import Conflict, Invalid


class ContactStatus(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    PENDING = "pending"  # in a double opt-in list, until the address confirms its code


# What a customer may set through the API; bounced and complained are the platform's to set.
SETTABLE = (ContactStatus.SUBSCRIBED, ContactStatus.UNSUBSCRIBED)


@define
class ContactList:
    id: str
    project_id: str
    name: str
    created_at: datetime
    double_opt_in: bool = False
    contact_count: int = 0  # filled in by reads; never stored


@define
class Contact:
    id: str
    project_id: str
    list_id: str
    email: str
    created_at: datetime
    name: str | None = None
    company: str | None = None
    status: ContactStatus = ContactStatus.SUBSCRIBED
    # The values of the project's declared properties set on this contact (see domain/properties.py:
    # the defaults stand in for the rest when it is read).
    properties: Values = Factory(dict)

    @property
    def email_key(self) -> str:
        return email_key(self.email)


def email_key(address: str) -> str:
    """The form addresses are compared in (unique per list, OTP lookups)."""
    return address.lower()


def change_status(current: ContactStatus, wanted: str) -> ContactStatus:
    """The status a customer's update may give a contact now in `current`."""
    if wanted not in {s.value for s in SETTABLE}:
        raise Invalid("status may only be set to 'subscribed' or 'unsubscribed'", field="status")
    target = ContactStatus(wanted)
    if target is ContactStatus.SUBSCRIBED and current in (ContactStatus.BOUNCED, ContactStatus.COMPLAINED):
        raise Conflict(f"a {current.value} contact cannot be resubscribed")
    return target
