"""Topics: the kinds of mail a project sends ("Product news", "Weekly digest"), each of which a
person can join or leave without leaving the others.

A topic is in by default (`opt_in`: everyone gets it until they leave) or out by default (`opt_out`:
only those who joined get it); that never changes after creation, because changing it would turn
everyone's silence into a choice they did not make. A person's choices are kept by address (the
project and the lower-cased email), like their events: one person in three lists has one set of
topics. The suppression list still wins over every choice: it is checked at delivery.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from attrs import frozen

MAX_NAME = 50  # as Resend's topics: short enough for a checkbox label
MAX_DESCRIPTION = 200
MAX_TOPICS = 50  # a preference page with more than this helps nobody


class Subscription(StrEnum):
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"


@frozen
class Topic:
    id: str
    project_id: str
    name: str
    default: Subscription  # what a person who never chose gets
    created_at: datetime
    updated_at: datetime
    description: str = ""


def subscribed(topic: Topic, choice: bool | None) -> bool:
    """Whether a person gets the topic's mail: their choice, or the topic's default without one."""
    if choice is None:
        return topic.default is Subscription.OPT_IN
    return choice
