"""Campaign <-> row helpers shared by the SQL adapters."""

from __future__ import annotations

from datetime import datetime

import orjson

from adapters.storage.codec import converter
from autorelay_core.domain.ab_tests import AbTest
from autorelay_core.domain.campaigns import Campaign, CampaignStatus

COLUMNS = (
    "id, project_id, name, subject, from_email, list_id, content, created_at, updated_at, status, launched_at,"
    " total, sent, failed, unsubscribed, starts_at, paused_by_user, segment_id, topic_id, ab_test"
)
COUNT = 20
# What an update may change (the id and project never do; `unsubscribed` only counts up, by its own
# statement, so an update made from an older read cannot lose a count).
UPDATE = (
    "name = {p}, subject = {p}, from_email = {p}, list_id = {p}, content = {p}, updated_at = {p}, status = {p},"
    " launched_at = {p}, total = {p}, sent = {p}, failed = {p}, starts_at = {p}, paused_by_user = {p},"
    " segment_id = {p}, topic_id = {p}, ab_test = {p}"
)
COUNTS = (
    "SELECT count(*), coalesce(sum(CASE WHEN status = 'sending' THEN 1 ELSE 0 END), 0),"
    " coalesce(sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0) FROM campaigns WHERE project_id = {p}"
)


def values(campaign: Campaign, when=lambda moment: moment) -> tuple:
    """The row for COLUMNS; `when` turns datetimes into what the database stores."""
    c = campaign
    launched = when(c.launched_at) if c.launched_at else None
    starts = when(c.starts_at) if c.starts_at else None
    return (
        c.id, c.project_id, c.name, c.subject, c.from_email, c.list_id, c.content, when(c.created_at),
        when(c.updated_at), c.status.value, launched, c.total, c.sent, c.failed, c.unsubscribed, starts,
        c.paused_by_user, c.segment_id, c.topic_id, ab_json(c.ab_test),
    )  # fmt: skip


def update_args(campaign: Campaign, when=lambda moment: moment) -> tuple:
    row = values(campaign, when)
    # created_at (row[7]) and unsubscribed (row[14]) never change here
    return (*row[2:7], *row[8:14], *row[15:20], row[0], row[1])


def campaign_row(row: tuple) -> Campaign:
    def moment(value):
        return value if isinstance(value, datetime) or value is None else datetime.fromisoformat(value)

    cid, project_id, name, subject, sender, list_id, content, created, updated, status, launched, *rest = row
    total, sent, failed, unsubscribed, starts, paused, segment_id, topic_id, ab_test = rest
    return Campaign(
        cid, project_id, name, subject, sender, list_id, content, moment(created), moment(updated),
        CampaignStatus(status), moment(launched), total, sent, failed, unsubscribed, moment(starts), bool(paused),
        segment_id, topic_id, ab_from_json(ab_test),
    )  # fmt: skip


def ab_json(test: AbTest | None) -> str | None:
    return None if test is None else orjson.dumps(converter.unstructure(test)).decode()


def ab_from_json(text: str | None) -> AbTest | None:
    return None if text is None else converter.structure(orjson.loads(text), AbTest)
