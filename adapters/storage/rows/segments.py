"""A segment's typed tree (domain/segments.py) as a WHERE clause over `contacts c`, for SQLite and
PostgreSQL. Only the tree is compiled, never the user's JSON: every value and key is a bound
parameter, and the SQL around them comes from this file.

Each condition compiles to a true/false that is never NULL (a missing value compares false), so
`NOT` reads as in Python: domain.segments.matches is the reading both must agree with.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen

from adapters.storage.rows.activity import when
from autorelay_core.domain.segments import And, Compare, DidEvent, Engaged, InList, InTopic, Node, Not, Or

_SQL_OPS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@frozen
class Dialect:
    mark: str  # the parameter placeholder
    false: str
    true: str
    time: Any  # a datetime as the events table keeps it

    def field(self, name: str) -> str:
        raise NotImplementedError

    def prop(self, kind: str) -> str:
        """The property's value, `{key}` and `{default}` marks to fill, as `kind`."""
        raise NotImplementedError

    def typed(self, kind: str) -> str:
        """A bound value of `kind`."""
        raise NotImplementedError

    def text(self, expr: str) -> str:
        return expr


class SqliteDialect(Dialect):
    def field(self, name: str) -> str:
        if name == "created_at":
            return "substr(c.created_at, 1, 10)"  # stored as UTC ISO text
        return f"nullif(c.{name}, '')" if name in ("name", "company") else f"c.{name}"

    def prop(self, kind: str) -> str:
        return "coalesce(json_extract(c.properties, {key}), {default})"

    def typed(self, kind: str) -> str:
        return "?"


class PostgresDialect(Dialect):
    def field(self, name: str) -> str:
        if name == "created_at":
            return "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return f"nullif(c.{name}, '')" if name in ("name", "company") else f"c.{name}"

    def prop(self, kind: str) -> str:
        cast = {"number": "::numeric", "boolean": "::boolean"}.get(kind, "")
        return f"coalesce((c.properties->>{{key}}){cast}, {{default}})"

    def typed(self, kind: str) -> str:
        return {"number": "%s::numeric", "boolean": "%s::boolean"}.get(kind, "%s::text")

    def text(self, expr: str) -> str:
        return f'{expr} COLLATE "C"'  # code point order, as Python compares


SQLITE = SqliteDialect(mark="?", false="0", true="1", time=when)
POSTGRES = PostgresDialect(mark="%s", false="false", true="true", time=lambda at: at)


def where(node: Node, project_id: str, dialect: Dialect) -> tuple[str, list[Any]]:
    """The condition on `contacts c` (of `project_id`), and its parameters in order."""
    args: list[Any] = []
    return _compile(node, project_id, dialect, args), args


def _compile(node: Node, project_id: str, d: Dialect, args: list[Any]) -> str:
    m = d.mark
    if isinstance(node, And | Or):
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(_compile(part, project_id, d, args) for part in node.parts) + ")"
    if isinstance(node, Not):
        return f"(NOT {_compile(node.part, project_id, d, args)})"
    if isinstance(node, InList):
        args += [project_id, node.list_id]
        return f"c.email_key IN (SELECT email_key FROM contacts WHERE project_id = {m} AND list_id = {m})"
    if isinstance(node, InTopic):
        # Joined by choice, or in by default (an opt_in topic of the project) and not left.
        args += [project_id, node.topic_id, node.topic_id, project_id, project_id, node.topic_id]
        chose = f"SELECT email_key FROM contact_topics WHERE project_id = {m} AND topic_id = {m} AND subscribed = "
        return (
            f"(c.email_key IN ({chose}{d.true}) OR (EXISTS (SELECT 1 FROM topics WHERE id = {m}"
            f" AND project_id = {m} AND default_subscription = 'opt_in') AND c.email_key NOT IN ({chose}{d.false})))"
        )
    if isinstance(node, DidEvent):
        args += [project_id, node.name, d.time(node.since), node.at_least]
        # SQLite's planner prefers the by-person index here for its GROUP BY order, and so reads
        # every event of the project (2 s at 1,000,000); the by-name index reads only the range.
        indexed = " INDEXED BY contact_events_name" if d is SQLITE else ""
        return (
            f"c.email_key IN (SELECT email_key FROM contact_events{indexed}"
            f" WHERE project_id = {m} AND name = {m} AND occurred_at >= {m}"
            f" GROUP BY email_key HAVING count(*) >= {m})"
        )
    if isinstance(node, Engaged):
        args += [project_id, node.campaign_id, node.event]
        return (
            "c.email_key IN (SELECT email_key FROM contact_events"
            f" WHERE project_id = {m} AND campaign_id = {m} AND name = {m})"
        )
    return _compare(node, d, args)


def _compare(node: Compare, d: Dialect, args: list[Any]) -> str:
    if node.field is not None:
        expr = d.field(node.field)
    else:
        template = d.prop(node.kind)
        key = f'$."{node.key}"' if d is SQLITE else node.key
        args.append(key)
        default = "NULL" if node.default is None else d.typed(node.kind)
        if node.default is not None:
            args.append(node.default)
        expr = template.format(key=d.mark, default=default)
    if node.op == "exists":
        return f"({expr} IS NOT NULL)"
    if node.op == "missing":
        return f"({expr} IS NULL)"
    value = d.typed(node.kind)
    if node.op == "contains":
        args.append(node.value)
        found = f"instr({expr}, {value}) > 0" if d is SQLITE else f"strpos({expr}, {value}) > 0"
        return f"coalesce({found}, {d.false})"
    if node.op == "starts_with":
        args += [node.value, node.value]
        head = "substr({0}, 1, length({1}))" if d is SQLITE else "left({0}, length({1}))"
        return f"coalesce({head.format(expr, value)} = {value}, {d.false})"
    args.append(node.value)
    if node.kind in ("text", "date"):
        return f"coalesce({d.text(expr)} {_SQL_OPS[node.op]} {value}, {d.false})"
    return f"coalesce({expr} {_SQL_OPS[node.op]} {value}, {d.false})"
