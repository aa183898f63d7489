"""Operator commands for lists, emails and domains: the dashboard's views for a terminal."""

from __future__ import annotations

import argparse
import json
from typing import Any

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.emails import EmailStatus
from autorelay_core.errors import NotFound
from autorelay_core.policies.pagination import CursorRequest, Order
from autorelay_core.ports import EmailFilter
from autorelay_core.usecases import manage_contacts, manage_domains, manage_keys, queries
from autorelay_core.usecases.read_emails import get_email
from composition.cli_tables import Run, show
from composition.services import Services


def lists_create(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        made = await manage_contacts.create_list(
            services.deps, Caller.operator(project.id), args.name, args.double_opt_in
        )
        print(f"{made.id} {made.name}{' (double opt-in)' if made.double_opt_in else ''}")

    run(args, action)


def lists_list(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        rows = [
            (
                item.id,
                item.name,
                item.contact_count,
                "yes" if item.double_opt_in else "no",
                f"{item.created_at:%Y-%m-%d}",
            )
            for item in await manage_contacts.all_lists(services.deps, Caller.operator(project.id))
        ]
        show(("Id", "Name", "Contacts", "Double opt-in", "Created"), rows, as_json=args.json, empty="(no lists)")

    run(args, action)


def emails_list(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        test = {"test": True, "live": False}.get(args.mode or "")
        where = EmailFilter(status=EmailStatus(args.status) if args.status else None, test=test)
        page = await queries.search_emails(
            services.deps, Caller.operator(project.id), CursorRequest(limit=args.limit, order=Order.DESC), where
        )
        rows = [
            (
                e.id,
                e.status.value,
                "test" if e.test else "live",
                ", ".join(e.to),
                e.subject,
                f"{e.created_at:%Y-%m-%d %H:%M}",
            )
            for e in page.items
        ]
        show(("Id", "Status", "Mode", "To", "Subject", "Created"), rows, as_json=args.json, empty="(no emails)")

    run(args, action)


def emails_show(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        email, events = await get_email(services.deps, Caller.operator(project.id), args.email_id)
        facts: dict[str, Any] = {
            "id": email.id,
            "status": email.status.value,
            "mode": "test" if email.test else "live",
            "from": email.sender,
            "to": list(email.to),
            "cc": list(email.cc),
            "bcc": list(email.bcc),
            "subject": email.subject,
            "message_id": email.message_id,
            "created_at": email.created_at.isoformat(),
            "last_error": email.last_error,
            "events": [{"type": e.type.value, "at": e.created_at.isoformat(), **e.data} for e in events],
        }
        if args.json:
            print(json.dumps(facts, indent=2, default=str))
            return
        for name, value in facts.items():
            if name != "events" and value not in (None, [], ""):
                print(f"{name + ':':<12} {', '.join(value) if isinstance(value, list) else value}")
        print("events:")
        for event in facts["events"]:
            extra = "  ".join(f"{k}={v}" for k, v in event.items() if k not in ("type", "at"))
            print(f"  {event['at']}  {event['type']}  {extra}".rstrip())

    run(args, action)


def domains_list(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        rows = [
            (d.id, d.name, d.status.value, f"{d.verified_at:%Y-%m-%d}" if d.verified_at else "")
            for d in await manage_domains.list_domains(services.deps, Caller.operator(project.id))
        ]
        show(("Id", "Domain", "Status", "Verified"), rows, as_json=args.json, empty="(no domains)")

    run(args, action)


def domains_add(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        domain = await manage_domains.create_domain(services.deps, Caller.operator(project.id), args.domain)
        print(f"{domain.id} {domain.name}: publish these records, then run `autorelay domains check {domain.name}`")
        records = manage_domains.records(services.deps, domain)
        show(("Type", "Name", "Value"), [(r.type, r.name, r.value) for r in records], as_json=False)

    run(args, action)


def domains_check(args: argparse.Namespace, run: Run) -> None:
    """Look the domain's records up in DNS now (as the API's verify does)."""

    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        try:
            found = await manage_domains.domain_named(services.deps, Caller.operator(project.id), args.domain)
        except NotFound:
            raise NotFound(f"{project.name} has no domain {args.domain}; add it first") from None
        result = await manage_domains.verify_domain(services.deps, Caller.operator(project.id), found.id)
        if not result.missing:
            print(f"{result.domain.name} is verified")
            return
        print(f"{result.domain.name}: not found in DNS yet:")
        show(("Type", "Name", "Value"), [(r.type, r.name, r.value) for r in result.missing], as_json=False)

    run(args, action)


def add_commands(commands, emails, domains, run: Run) -> None:
    """Register the commands above on the `autorelay` parser."""

    def wired(handler):
        return lambda args: handler(args, run)

    lists = commands.add_parser("lists", help="contact lists").add_subparsers(dest="action", required=True)
    p = lists.add_parser("create", help="create a contact list")
    p.add_argument("name", help="its name")
    p.add_argument("--double-opt-in", action="store_true", help="new contacts confirm with a code first")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.set_defaults(func=wired(lists_create))
    p = lists.add_parser("list", help="a project's lists with their sizes")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.add_argument("--json", action="store_true", help="print JSON instead of columns")
    p.set_defaults(func=wired(lists_list))

    p = emails.add_parser("list", help="a project's newest emails, with status and mode filters")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.add_argument("--status", choices=[s.value for s in EmailStatus], help="only emails in this status")
    p.add_argument("--mode", choices=("live", "test"), help="only live or only test-mode emails")
    p.add_argument("--limit", type=int, default=20, help="how many (default: 20)")
    p.add_argument("--json", action="store_true", help="print JSON instead of columns")
    p.set_defaults(func=wired(emails_list))
    p = emails.add_parser("show", help="one email: envelope, status, last error and events")
    p.add_argument("email_id", metavar="EMAIL_ID", help="the email's id (em_...)")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=wired(emails_show))

    p = domains.add_parser("list", help="a project's sending domains")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.add_argument("--json", action="store_true", help="print JSON instead of columns")
    p.set_defaults(func=wired(domains_list))
    p = domains.add_parser("add", help="add a sending domain and print the DNS records it needs")
    p.add_argument("domain", help="the domain name, e.g. mail.example.com")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.set_defaults(func=wired(domains_add))
    p = domains.add_parser("check", help="look the domain's records up in DNS now; verified when all are there")
    p.add_argument("domain", help="the domain name, e.g. mail.example.com")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.set_defaults(func=wired(domains_check))
