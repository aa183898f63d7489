"""Operator commands for what tenants make: send one email, and list templates, campaigns and
webhooks. Everything goes through the same use cases as the API, as the operator."""

from __future__ import annotations

import argparse
import json

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.keys import KeyMode
from autorelay_core.errors import Invalid
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.usecases import manage_campaigns, manage_keys, manage_templates, manage_webhooks
from autorelay_core.usecases.access import admit
from autorelay_core.usecases.send_email import SendCommand, send_email
from composition.cli_tables import Run, show
from composition.services import Services


def send(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        caller = Caller.operator(project.id, KeyMode.TEST if args.test else KeyMode.LIVE)
        try:
            data = json.loads(args.data) if args.data else None
        except ValueError as error:
            raise Invalid(f"--data is not JSON: {error}") from None
        command = SendCommand(
            to=args.to,
            from_=args.sender,
            subject=args.subject,
            html=args.html,
            text=args.text,
            template_id=args.template,
            data=data,
        )
        await admit(services.deps, caller)  # a locked account sends nothing, from here either
        email = await send_email(services.deps, caller, command)
        mode = "test mode: it goes to the log mailer" if email.test else "live"
        print(f"{email.id} queued ({mode}); a running `autorelay serve` or `autorelay worker` delivers it.")
        print(f"  `autorelay emails show {email.id}` follows it.")

    run(args, action)


def templates_list(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        found = await manage_templates.list_templates(services.deps, Caller.operator(project.id))
        rows = [(t.id, t.name, t.subject, f"{t.updated_at:%Y-%m-%d %H:%M}") for t in found]
        show(("Id", "Name", "Subject", "Updated"), rows, as_json=args.json, empty="(no templates)")

    run(args, action)


def campaigns_list(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        page = await manage_campaigns.list_campaigns(
            services.deps, Caller.operator(project.id), None, OffsetRequest(1, 100)
        )
        rows = [(c.id, c.name, c.status.value, c.sent, c.total, f"{c.created_at:%Y-%m-%d}") for c in page.items]
        show(("Id", "Name", "Status", "Sent", "Of", "Created"), rows, as_json=args.json, empty="(no campaigns)")

    run(args, action)


def webhooks_list(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        rows = []
        for test in (False, True):
            for hook in await manage_webhooks.list_webhooks(services.deps, Caller.operator(project.id), test):
                state = "active" if hook.active else "paused"
                rows.append((hook.id, hook.url, ", ".join(hook.events), state, "test" if test else "live"))
        show(("Id", "URL", "Events", "State", "Mode"), rows, as_json=args.json, empty="(no webhooks)")

    run(args, action)


def webhooks_local(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        allowed = args.state == "on"
        await manage_webhooks.set_local_webhooks(services.deps, Caller.operator(project.id), allowed)
        if allowed:
            print(
                f"Webhooks of project {project.name} may now reach http:// and local addresses"
                " (a receiver on this machine). Running servers see it within a few seconds."
                " Use it on a development machine only; `autorelay webhooks local off` undoes it."
            )
        else:
            print(f"Webhooks of project {project.name} reach public https:// addresses only.")

    run(args, action)


def add_content_commands(commands, run: Run) -> None:
    def wired(handler):
        return lambda args: handler(args, run)

    p = commands.add_parser("send", help="send one email (queued; a running server or worker delivers it)")
    p.add_argument("--to", required=True, action="append", help="a recipient (repeat for several)")
    p.add_argument("--from", dest="sender", required=True, help="the sender, e.g. 'Shop <hi@shop.example>'")
    p.add_argument("--subject", help="the subject (a template's own when left out)")
    p.add_argument("--html", help="the HTML body")
    p.add_argument("--text", help="the plain-text body (alone: a text-only email)")
    p.add_argument("--template", help="a template id (tpl_...) instead of a body")
    p.add_argument("--data", help='template data as JSON, e.g. \'{"name": "Ann"}\'')
    p.add_argument("--test", action="store_true", help="test mode: to the log mailer, nothing leaves")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.set_defaults(func=wired(send))
    for name, handler, what in (
        ("templates", templates_list, "a project's templates"),
        ("campaigns", campaigns_list, "a project's campaigns with their progress"),
        ("webhooks", webhooks_list, "a project's webhooks, live and test"),
    ):
        group = commands.add_parser(name, help=what).add_subparsers(dest="action", required=True)
        p = group.add_parser("list", help=what)
        p.add_argument("--project", default="default", help="project id or name (default: default)")
        p.add_argument("--json", action="store_true", help="print JSON instead of columns")
        p.set_defaults(func=wired(handler))
        if name == "webhooks":
            p = group.add_parser("local", help="let a project's webhooks reach local addresses (development)")
            p.add_argument("state", choices=("on", "off"), help="on: allow http:// and local addresses; off: stop")
            p.add_argument("--project", default="default", help="project id or name (default: default)")
            p.set_defaults(func=wired(webhooks_local))
