"""The `autorelay` command: serve, worker, keys, projects."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from attrs import evolve

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.keys import KeyMode
from autorelay_core.domain.projects import AccountStatus
from autorelay_core.domain.users import Role, User
from autorelay_core.errors import AutoRelayError
from autorelay_core.usecases import manage_domains, manage_keys, manage_reputation, manage_users, queries, uncertain
from composition.banner import describe
from composition.build import build
from composition.cli_access import add_access_commands
from composition.cli_content import add_content_commands
from composition.cli_more import add_commands
from composition.cli_pacing import add_pacing_commands
from composition.cli_tables import show
from composition.delivery_process import DeliveryProcess, follow_parent, worker_command
from composition.logs import configure as configure_logs
from composition.services import Services
from composition.settings import Settings, SettingsError


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return Settings.from_env(
        data_dir=getattr(args, "data_dir", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        **extra,
    )


def _print_keys(issued: list[manage_keys.IssuedKey]) -> None:
    if not issued:
        return
    print("AutoRelay created project 'default'. These keys are shown once; store them now:")
    for item in issued:
        print(f"  {item.key.mode.value} key: {item.plain}")
    print(flush=True)


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from adapters.dashboard.app import create_dashboard
    from adapters.http.app import create_app
    from adapters.http.slow_clients import deadline_protocol

    settings = _settings(args)
    separate = settings.separate_delivery()
    if separate:  # this process serves; the worker it starts below delivers
        settings = evolve(settings, embedded_workers=0)
    services = build(settings)
    # Rendering and HTML conversion run on Offload threads; while they hold the GIL, each turn of
    # the event loop waits for the switch interval (5 ms by default) at every system call. 1 ms
    # keeps requests (and /healthz) quick while a costly render runs.
    sys.setswitchinterval(0.001)
    from adapters.returned_mail.sns import SnsVerifier

    topics = {arn.strip() for arn in settings.ses_topic_arns.split(",") if arn.strip()}
    sns = SnsVerifier(topics, connect_to=settings.sns_connect_to, ca_file=settings.sns_ca_file)
    dashboard = create_dashboard(services, base_url=settings.base_url, raw_message=services.raw_message)
    app = create_app(
        services,
        max_body_bytes=settings.max_body_bytes,
        sns=sns,
        trusted_proxies=settings.proxies,
        dashboard=dashboard,
        metrics=_metrics_hooks(services, settings),
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=settings.access_log,
        lifespan="on",
        # The app believes X-Forwarded-For only from AUTORELAY_TRUSTED_PROXIES (create_app); uvicorn's
        # own default would trust whatever 127.0.0.1 says.
        proxy_headers=False,
        http=deadline_protocol(settings.header_timeout_seconds, settings.body_timeout_seconds),
        timeout_keep_alive=5,
        limit_concurrency=settings.max_connections,
    )

    async def main() -> None:
        # One event loop for the whole process: a Postgres pool belongs to the loop that opened it.
        await services.migrate()
        issued = await manage_keys.bootstrap(services.deps)
        _print_keys(issued)
        if issued:  # a fresh database: its first owner signs in to the dashboard with a link
            owner = await manage_users.create_user(
                services.deps, manage_users.FIRST_OWNER, issued[0].key.project_id, Role.OWNER
            )
            print("Dashboard: choose your email and password within 24 h at")
            print(f"  {await _link(services, owner)}\n", flush=True)
        where = "PostgreSQL" if settings.postgres else f"data in {settings.data_dir}"
        here = f"http://{settings.host}:{settings.port}"
        print(f"AutoRelay API on {here}/api/v1 ({where})")
        print(f"  dashboard: {here}/app/ (`autorelay users link EMAIL` prints a sign-in link)")
        print(f"  docs:      {here}/docs")
        print("\n".join(describe(settings)))
        if not issued:
            print("  keys:     lost the printed keys? `autorelay keys create --project default` makes a new one")
        delivery = await _start_delivery(settings) if separate else None
        if delivery is None and settings.embedded_workers:
            print("  delivery: in this process (AUTORELAY_DELIVERY_PROCESS=on gives it a process of its own)")
        print(flush=True)
        # Everything built so far lives as long as the process: keep the cyclic GC from rescanning
        # it on every full collection, which otherwise shows up as latency spikes under load.
        from composition.relay import start_returned_mail, start_smtp_relay

        listeners = await start_returned_mail(services, settings)
        if settings.smtp_relay_listen:
            listeners.append(await start_smtp_relay(services, settings))
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)
        try:
            await uvicorn.Server(config).serve()
        finally:
            for listener in listeners:
                listener.close()
            if delivery is not None:
                await delivery.stop()

    # uvicorn stops on SIGTERM, puts back the handler it found and raises the signal again: with
    # Python's default that ends the process on the spot, before main()'s cleanup (the delivery
    # worker, the listeners, this run's metrics folder). Ending as SystemExit runs it.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(main())


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


async def _start_delivery(settings: Settings) -> DeliveryProcess:
    command, env = worker_command(str(settings.data_dir.resolve()), settings.host, settings.port, os.environ)
    delivery = DeliveryProcess(command, env)
    pid = await delivery.start()
    print(f"  delivery: `autorelay worker` in a process of its own (pid {pid}), restarted if it dies;")
    print("            its lines follow in this log (AUTORELAY_DELIVERY_PROCESS=off keeps delivery in this process)")
    return delivery


def _metrics_hooks(services: Services, settings: Settings) -> SimpleNamespace:
    from adapters.http.metrics import metrics_page

    allowed = frozenset(a.strip() for a in settings.metrics_allow.split(",") if a.strip())
    page = metrics_page(lambda: services.metrics.render(services.deps), token=settings.metrics_token, allowed=allowed)
    return SimpleNamespace(page=page, observe=services.metrics.observe_request)


async def _link(services: Services, user: User) -> str:
    token = await manage_users.sign_in_link_token(services.deps, user)
    return f"{services.settings.base_url}/app/welcome?token={token}"


def users_create(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        invitation = await manage_users.invite(services.deps, Caller.operator(project.id), args.email, Role(args.role))
        user = invitation.user
        if user.password_hash is not None:
            print(f"{user.email} already has an account and is now {args.role} of {project.name};")
            print(f"they sign in with their own password (`autorelay users link {user.email}` resets it).")
            return
        # An operator may hand out the link of someone who has not signed in yet (a project's
        # owner may not, once the account is also another project's).
        token = invitation.link_token or await manage_users.sign_in_link_token(services.deps, user)
        print(f"{user.email} is {args.role} of {project.name}. Sign-in link (24 h, once):")
        print(f"  {services.settings.base_url}/app/welcome?token={token}")
        _where_links_point(services.settings)

    _run(args, action)


def _where_links_point(settings: Settings) -> None:
    """A link names the server's public URL; without one it names the address serve binds."""
    if not settings.public_url:
        print(
            f"  (AUTORELAY_PUBLIC_URL is not set, so the link assumes the server at {settings.base_url}; "
            "set it, or AUTORELAY_HOST and AUTORELAY_PORT as the server has them, if it runs elsewhere)"
        )


def users_link(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        user = await manage_users.find_user(services.deps, args.email)
        print(f"Sign-in link for {user.email} (24 h, once; it also resets the password):")
        print(f"  {await _link(services, user)}")
        _where_links_point(services.settings)

    _run(args, action)


def users_list(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        projects = {p.id: p.name for p in (await queries.projects_by_id(services.deps)).values()}
        rows = []
        for user, roles in await queries.users_and_projects(services.deps):
            where = ", ".join(f"{projects.get(m.project_id, m.project_id)} ({m.role.value})" for m in roles)
            rows.append((user.email, where, "yes" if user.password_hash else "not yet"))
        show(("Email", "Projects", "Password"), rows, as_json=args.json, empty="(no users)")

    _run(args, action)


def users_remove(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        await manage_users.remove_user(services.deps, args.email)
        print(f"{args.email} removed; their sessions have ended")

    _run(args, action)


def migrate(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        version = await services.migrate()
        print(f"schema at version {version}")

    _run(args, action)


def worker(args: argparse.Namespace) -> None:
    from adapters.queue.huey_queue import run_consumer

    follow_parent()  # started by `serve`: stop when it does
    settings = _settings(args, embedded_workers=0)
    services = build(settings, serves_pages=False)
    huey = getattr(services.deps.queue, "huey", None)
    if huey is None:
        raise SettingsError("`autorelay worker` needs a shared queue: use the SQLite or Redis queue, not memory://")
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="autorelay-loop", daemon=True).start()
    asyncio.run_coroutine_threadsafe(services.start(), loop).result()
    print(f"AutoRelay worker: {settings.worker_threads} consumer thread(s)")
    print("\n".join(describe(settings)), flush=True)
    try:
        run_consumer(huey, settings.worker_threads, settings.queue_poll_seconds)
    finally:
        asyncio.run_coroutine_threadsafe(services.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)


def backup_command(args: argparse.Namespace) -> None:
    from composition.backup import backup

    made = backup(_settings(args), Path(args.destination))
    files = ", ".join(f"{count} in {name}/" for name, count in made["files"].items()) or "no files"
    print(f"Backed up {made['from']} to {args.destination} in {made['seconds']} s (database, secret, {files}).")


def restore_command(args: argparse.Namespace) -> None:
    from composition.backup import restore

    settings = _settings(args)
    made = restore(settings, Path(args.source))
    print(f"Restored the backup of {made['from']} (made {made['made_at']}) into {settings.data_dir}.")
    print("Start serve on it: queued emails are delivered; the SQLite queue starts empty and refills itself.")


def inbound(args: argparse.Namespace) -> None:
    from composition.relay import run_inbound

    # Only what it is for: a process started with other SMTP settings must not deliver anyone's mail.
    settings = _settings(args, embedded_workers=args.deliver)
    if not (settings.inbound_listen or settings.bounce_imap_url):
        raise SettingsError(
            "`autorelay inbound` needs AUTORELAY_INBOUND_LISTEN=host:port (to receive over SMTP: returned mail for"
            " AUTORELAY_BOUNCE_DOMAIN, mail for receiving domains) or AUTORELAY_BOUNCE_IMAP_URL=imaps://user:password@host/INBOX"
            " (to read a bounce mailbox)"
        )
    run_inbound(settings, build(settings))


def smtp_relay(args: argparse.Namespace) -> None:
    from composition.relay import run_relay

    settings = _settings(args, embedded_workers=args.deliver)
    if not settings.smtp_relay_listen:
        raise SettingsError(
            "`autorelay smtp-relay` needs AUTORELAY_SMTP_RELAY_LISTEN=host:port (for example 0.0.0.0:587)"
        )
    run_relay(settings, build(settings))


def _run(args: argparse.Namespace, action: Callable[[Services], Awaitable[None]]) -> None:
    services = build(_settings(args, embedded_workers=0))

    async def main() -> None:
        try:
            await action(services)
        finally:
            await services.close_database()

    asyncio.run(main())


def projects_create(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.create_project(services.deps, args.name)
        print(f"{project.id} {project.name}")
        if args.with_keys:
            for mode in (KeyMode.LIVE, KeyMode.TEST):
                issued = await manage_keys.create_key(
                    services.deps, Caller.operator(project.id), mode, f"{mode.value} key"
                )
                print(f"  {mode.value} key: {issued.plain}")

    _run(args, action)


def projects_status(args: argparse.Namespace) -> None:
    if args.action == "deactivate" and not args.yes:
        if not sys.stdin.isatty():
            raise SettingsError(f"deactivating {args.project} cannot be undone; add --yes to confirm")
        typed = input(f"Deactivating {args.project} cannot be undone. Type its name to confirm: ").strip()
        if typed != args.project:
            raise SettingsError("not confirmed; nothing changed")

    async def action(services: Services) -> None:
        project = await manage_reputation.operator_action(
            services.deps, args.project, AccountStatus(_STATUS_OF[args.action]), args.reason
        )
        reason = f" ({project.status_reason})" if project.status_reason else ""
        print(f"{project.name}: {project.status.value}{reason}")

    _run(args, action)


def projects_tracking(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        opens = project.track_opens if args.opens is None else args.opens == "on"
        clicks = project.track_clicks if args.clicks is None else args.clicks == "on"
        await manage_keys.set_tracking(services.deps, Caller.operator(project.id), opens=opens, clicks=clicks)
        print(f"{project.name}: opens {'on' if opens else 'off'}, clicks {'on' if clicks else 'off'}")

    _run(args, action)


def projects_uncertain(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        transactional = project.resend_uncertain_transactional
        campaigns = project.resend_uncertain_campaigns
        transactional = transactional if args.transactional is None else args.transactional == "resend"
        campaigns = campaigns if args.campaigns is None else args.campaigns == "resend"
        await uncertain.set_uncertain_policy(
            services.deps, Caller.operator(project.id), transactional=transactional, campaigns=campaigns
        )
        word = {True: "resend", False: "hold"}
        print(f"{project.name}: uncertain transactional mail {word[transactional]}, campaign mail {word[campaigns]}")

    _run(args, action)


def emails_uncertain(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        found = await uncertain.list_uncertain(services.deps, Caller.operator(project.id))
        rows = [(e.id, e.message_id, ", ".join(e.to), e.subject) for e in found]
        show(("Id", "Message-ID", "To", "Subject"), rows, as_json=args.json, empty="(none)")
        print(f"{len(found)} uncertain email(s) in {project.name}", file=sys.stderr)

    _run(args, action)


def emails_settle(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        for email_id in args.emails:
            if args.action == "resend":
                await uncertain.resend_uncertain(services.deps, Caller.operator(project.id), email_id)
                print(f"{email_id}: sending again (same Message-ID)")
            else:
                await uncertain.settle_as_sent(services.deps, Caller.operator(project.id), email_id)
                print(f"{email_id}: recorded as sent")

    _run(args, action)


_STATUS_OF = {"reinstate": "active", "flag": "flagged", "suspend": "suspended", "deactivate": "deactivated"}


def projects_list(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        rows = [
            (p.id, p.name, p.status.value, p.status_reason or "")
            for p in await manage_keys.list_projects(services.deps)
        ]
        show(("Id", "Name", "Status", "Reason"), rows, as_json=args.json, empty="(no projects)")

    _run(args, action)


def domains_verify(args: argparse.Namespace) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        for name in args.domains:
            domain = await manage_domains.mark_verified(services.deps, Caller.operator(project.id), name)
            print(f"{project.name}: {domain.name} verified ({domain.id})")

    _run(args, action)


def contacts_import(args: argparse.Namespace) -> None:
    from pathlib import Path

    from composition.import_csv import import_file

    path = Path(args.file)
    if not path.is_file():
        raise SettingsError(f"{path}: no such file")

    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        imported, skipped, problems = await import_file(services.deps, Caller.operator(project.id), args.list, path)
        print(f"imported {imported}, skipped {skipped} already in the list, {len(problems)} invalid row(s)")
        for line in problems[:50]:
            print(f"  {line}")
        if len(problems) > 50:
            print(f"  ... and {len(problems) - 50} more")

    _run(args, action)


def parser() -> argparse.ArgumentParser:
    settings_help = "\n".join(f"  {var:<38} {doc} (default: {default})" for var, doc, default in Settings.describe())
    root = argparse.ArgumentParser(
        prog="autorelay",
        description="AutoRelay: a self-hostable email platform.",
        epilog="settings (environment variables):\n" + settings_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--data-dir", help="folder for the database, queue and log mail (AUTORELAY_DATA_DIR)")
    root.add_argument(
        "--create", action="store_true", help="let an operator command start a new, empty data dir (serve always may)"
    )
    root.add_argument("--version", action="version", version=f"autorelay {_version()}")
    commands = root.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="run the HTTP API (with an in-process queue consumer)")
    p.add_argument("--host", help="address to listen on (AUTORELAY_HOST; default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (AUTORELAY_PORT; default 3000)")
    p.set_defaults(func=serve)

    p = commands.add_parser("migrate", help="bring the database schema up to date (serve and worker also do)")
    p.set_defaults(func=migrate)

    p = commands.add_parser("worker", help="run queue consumers (deliveries) in this process")
    p.set_defaults(func=worker)

    p = commands.add_parser(
        "smtp-relay", help="run the SMTP submission relay alone (at AUTORELAY_SMTP_RELAY_LISTEN; serve runs it too)"
    )
    p.add_argument(
        "--deliver", type=int, default=0, metavar="N",
        help="also run N delivery threads here (default 0: `serve` or `autorelay worker` deliver)",
    )  # fmt: skip
    p.set_defaults(func=smtp_relay)

    p = commands.add_parser(
        "inbound",
        help="receive bounces and complaints alone (AUTORELAY_INBOUND_LISTEN and/or AUTORELAY_BOUNCE_IMAP_URL;"
        " serve runs them too)",
    )
    p.add_argument(
        "--deliver", type=int, default=0, metavar="N",
        help="also run N delivery threads here (default 0: `serve` or `autorelay worker` deliver)",
    )  # fmt: skip
    p.set_defaults(func=inbound)

    p = commands.add_parser(
        "backup", help="copy the data dir (SQLite database, secret, files) to DEST while the server runs"
    )
    p.add_argument("destination", metavar="DEST", help="a new or empty folder")
    p.set_defaults(func=backup_command)

    p = commands.add_parser("restore", help="restore a backup into the data dir, which must be new or empty")
    p.add_argument("source", metavar="SRC", help="a folder made by autorelay backup")
    p.set_defaults(func=restore_command)

    contacts = commands.add_parser("contacts", help="contacts").add_subparsers(dest="action", required=True)
    p = contacts.add_parser(
        "import", help="import a CSV file (a header row naming an email column; any delimiter; UTF-8 or Latin-1)"
    )
    p.add_argument("file", help="the CSV file")
    p.add_argument("--list", required=True, help="the list id (lst_...)")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.set_defaults(func=contacts_import)

    domains = commands.add_parser("domains", help="sending domains").add_subparsers(dest="action", required=True)
    p = domains.add_parser("verify", help="mark domains verified for a project (operator override)")
    p.add_argument("domains", nargs="+", help="domain names")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.set_defaults(func=domains_verify)

    projects = commands.add_parser("projects", help="create and list projects").add_subparsers(
        dest="action", required=True
    )
    p = projects.add_parser("create", help="create a project")
    p.add_argument("name", help="its name")
    p.add_argument("--with-keys", action="store_true", help="also create and print a live and a test key")
    p.set_defaults(func=projects_create)
    p = projects.add_parser("list", help="list projects")
    p.add_argument("--json", action="store_true", help="print JSON instead of columns")
    p.set_defaults(func=projects_list)
    helps = {
        "reinstate": "back to active (after a review)",
        "flag": "pause outbound sending pending a review",
        "suspend": "suspend for a compliance review",
        "deactivate": "close for good (cannot be undone)",
    }
    for action, text in helps.items():
        p = projects.add_parser(action, help=text)
        p.add_argument("project", help="project id or name")
        p.add_argument("--reason", default="", help="why (shown to the project's API clients and dashboard)")
        if action == "deactivate":
            p.add_argument("--yes", action="store_true", help="confirm without the prompt (scripts)")
        else:
            p.set_defaults(yes=True)
        p.set_defaults(func=projects_status)
    p = projects.add_parser("tracking", help="turn open and click tracking on or off (both on by default)")
    p.add_argument("project", help="project id or name")
    p.add_argument("--opens", choices=("on", "off"), help="the open pixel")
    p.add_argument("--clicks", choices=("on", "off"), help="links through the click redirect")
    p.set_defaults(func=projects_tracking)
    p = projects.add_parser(
        "uncertain",
        help="what happens to email left uncertain by a worker stopped mid hand-over: resend (same Message-ID) or hold",
    )
    p.add_argument("project", help="project id or name")
    p.add_argument("--transactional", choices=("resend", "hold"), help="API and OTP mail (default resend)")
    p.add_argument("--campaigns", choices=("resend", "hold"), help="campaign and journey mail (default hold)")
    p.set_defaults(func=projects_uncertain)

    users = commands.add_parser("users", help="dashboard users (people, not API keys)").add_subparsers(
        dest="action", required=True
    )
    p = users.add_parser("create", help="add a user to a project and print their sign-in link")
    p.add_argument("email", help="the user's email address")
    p.add_argument("--project", default="default", help="project id or name")
    p.add_argument("--role", choices=("owner", "member"), default="member", help="owner or member (default: member)")
    p.set_defaults(func=users_create)
    p = users.add_parser("link", help="print a new sign-in link for a user (to set or reset the password)")
    p.add_argument("email", help="the user's email address")
    p.set_defaults(func=users_link)
    p = users.add_parser("list", help="users and their projects")
    p.add_argument("--json", action="store_true", help="print JSON instead of columns")
    p.set_defaults(func=users_list)
    p = users.add_parser("remove", help="remove a user (ends their sessions)")
    p.add_argument("email", help="the user's email address")
    p.set_defaults(func=users_remove)

    emails = commands.add_parser("emails", help="list and show emails; decide about uncertain ones").add_subparsers(
        dest="action", required=True
    )
    p = emails.add_parser("uncertain", help="list uncertain emails (held or being sent again)")
    p.add_argument("--json", action="store_true", help="print JSON instead of columns")
    p.add_argument("--project", default="default", help="project id or name")
    p.set_defaults(func=emails_uncertain)
    for action, text in (
        ("resend", "send uncertain emails again, with the same Message-ID"),
        ("mark-sent", "record held uncertain emails as sent (the next hop's log shows they left)"),
    ):
        p = emails.add_parser(action, help=text)
        p.add_argument("emails", nargs="+", metavar="EMAIL_ID", help="email ids (em_...)")
        p.add_argument("--project", default="default", help="project id or name")
        p.set_defaults(func=emails_settle)
    add_commands(commands, emails, domains, _run)
    add_pacing_commands(commands, _run)
    add_content_commands(commands, _run)
    add_access_commands(commands, _run)
    _everywhere(root)
    return root


def _everywhere(parser: argparse.ArgumentParser) -> None:
    """--data-dir and --create after any subcommand too (`autorelay keys list --data-dir /srv/x`)."""
    for action in parser._actions:  # argparse keeps subcommands here; there is no public way in
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                options = {o for a in sub._actions for o in a.option_strings}
                if "--data-dir" not in options:
                    sub.add_argument("--data-dir", default=argparse.SUPPRESS, help="as before the subcommand")
                    sub.add_argument("--create", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
                _everywhere(sub)


# Commands that run the service: on a fresh machine they start a new data dir, as a newcomer expects.
_STARTS_SERVICE = ("serve", "worker", "smtp-relay", "inbound", "restore")


def _refuse_stray_data_dir(args: argparse.Namespace) -> None:
    """An operator command run from the wrong folder would otherwise create an empty data dir there
    and report on (or change) nothing: say where it looked instead."""
    if args.command in _STARTS_SERVICE or getattr(args, "create", False):
        return
    settings = _settings(args)
    path = settings.sqlite_path
    if path is not None and not path.exists():
        raise SettingsError(
            f"no AutoRelay data at {settings.data_dir.resolve()} (looked for {path.resolve()}). Run this where"
            " serve runs, point at the data with --data-dir or AUTORELAY_DATA_DIR, or add --create to start"
            " a new one"
        )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("autorelay")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"autorelay: {error}", file=sys.stderr)
        return 2
    configure_logs(settings.log_level, settings.log_format)
    if not settings.metrics_dir and args.command == "serve" and settings.separate_delivery():
        # serve and the delivery worker it starts count in one folder of their own (this run's
        # only: counters of an earlier run must not add up), so /metrics shows both.
        private = tempfile.mkdtemp(prefix="autorelay-metrics-")
        atexit.register(shutil.rmtree, private, ignore_errors=True)
        os.environ["AUTORELAY_METRICS_DIR"] = private  # the worker inherits it
        settings = evolve(settings, metrics_dir=private)
    if settings.metrics_dir:
        # prometheus-client chooses per-process files when it is first imported (by build()).
        Path(settings.metrics_dir).mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = settings.metrics_dir
    try:
        _refuse_stray_data_dir(args)
        args.func(args)
    except (SettingsError, AutoRelayError) as error:
        print(f"autorelay: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
