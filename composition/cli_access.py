"""Operator commands for access: API keys (`autorelay keys create|list|revoke`) and per-project rate
limits (`autorelay limits set|reset|list`, by operation name or by route)."""

from __future__ import annotations

import argparse

from adapters.http.operations import ROUTE_OPERATIONS
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.keys import KeyMode
from autorelay_core.policies.rate_limit import LIMITS, parse_limit
from autorelay_core.usecases import manage_keys, manage_limits
from composition.cli_tables import Run, show
from composition.services import Services
from composition.settings import SettingsError


def keys_create(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        mode = KeyMode.TEST if args.test else KeyMode.LIVE
        issued = await manage_keys.create_key(
            services.deps, Caller.operator(project.id), mode, args.name, tuple(args.scope or ())
        )
        access = (
            "FULL access (every scope)" if issued.key.scopes == ("full",) else "scopes " + ", ".join(issued.key.scopes)
        )
        print(f"Created a {mode.value.upper()} key with {access} for project {project.name} ({issued.key.id}).")
        if not args.test or not args.scope:
            print("  --test makes a test key (nothing is delivered); --scope NAME (repeated) limits what it may do.")
        print("Shown once; AutoRelay keeps only its hash:")
        print(issued.plain)

    run(args, action)


def keys_list(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        rows = [
            (
                key.id,
                f"ak_{key.mode.value}_...{key.last4}",
                f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active",
                ",".join(key.scopes),
                key.name,
            )
            for key in await manage_keys.list_keys(services.deps, Caller.operator(project.id))
        ]
        show(("Id", "Key", "State", "Scopes", "Name"), rows, as_json=args.json, empty="(no keys)")

    run(args, action)


def keys_revoke(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        await manage_keys.revoke_key(services.deps, args.key_id)
        print(f"revoked {args.key_id}")

    run(args, action)


def _operation(text: str) -> str:
    """An operation name ("emails.send"), or the route it is ("POST /api/v1/emails")."""
    words = " ".join(text.split())
    operation = ROUTE_OPERATIONS.get(words, words)
    if operation not in LIMITS:
        known = "\n  ".join(f"{name:<22} {_ROUTES.get(name, '')}" for name in LIMITS)
        raise SettingsError(f"no rate limit is defined for {text!r}; operations with limits:\n  {known}")
    return operation


# The route each operation is known by on the API, for people who think in routes.
_ROUTES = {operation: route for route, operation in ROUTE_OPERATIONS.items() if "/compat/" not in route}


def limits_set(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        endpoint, limit = _operation(args.endpoint), parse_limit(args.limit)
        await manage_limits.set_limit(services.deps, Caller.operator(project.id), endpoint, limit)
        print(f"{project.name}: {endpoint} now {limit.describe()} per key")

    run(args, action)


def limits_reset(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        endpoint = _operation(args.endpoint)
        await manage_limits.clear_limit(services.deps, Caller.operator(project.id), endpoint)
        print(f"{project.name}: {endpoint} back to {LIMITS[endpoint][0].describe()}")

    run(args, action)


def limits_list(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        project = await manage_keys.find_project(services.deps, args.project)
        overrides = await manage_limits.limit_overrides(services.deps, Caller.operator(project.id))
        rows = []
        for endpoint, defaults in LIMITS.items():
            shown = ", ".join(f"{lim.describe()} per {lim.scope.value}" for lim in defaults)
            if endpoint in overrides:
                shown = f"{overrides[endpoint].describe()} per key (override; default {shown})"
            rows.append((endpoint, _ROUTES.get(endpoint, ""), shown))
        show(("Operation", "Route", "Limit"), rows, as_json=args.json)

    run(args, action)


def add_access_commands(commands: argparse._SubParsersAction, run: Run) -> None:
    def wired(handler):
        return lambda args: handler(args, run)

    keys = commands.add_parser("keys", help="create, list and revoke API keys").add_subparsers(
        dest="action", required=True
    )
    p = keys.add_parser("create", help="create a key and print it once")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.add_argument("--test", action="store_true", help="an ak_test_ key (nothing is delivered)")
    p.add_argument("--name", default="", help="a label for the key")
    p.add_argument("--scope", action="append", help="repeat for several scopes; default: full")
    p.set_defaults(func=wired(keys_create))
    p = keys.add_parser("list", help="list a project's keys (never the keys themselves)")
    p.add_argument("--json", action="store_true", help="print JSON instead of columns")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.set_defaults(func=wired(keys_list))
    p = keys.add_parser("revoke", help="revoke a key by its id (key_...)")
    p.add_argument("key_id", help="the key's id (key_..., from keys list)")
    p.set_defaults(func=wired(keys_revoke))

    limits = commands.add_parser("limits", help="per-project rate limits (a paid plan's higher limits)").add_subparsers(
        dest="action", required=True
    )
    p = limits.add_parser("set", help="override one operation's per-key limit, e.g. emails.send 1000/min")
    p.add_argument("endpoint", help='an operation from limits list (emails.send) or its route ("POST /api/v1/emails")')
    p.add_argument("limit", help="COUNT/UNIT with UNIT s, min, hour or day (or a number of seconds)")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.set_defaults(func=wired(limits_set))
    p = limits.add_parser("reset", help="back to the reference's limit")
    p.add_argument("endpoint", help='an operation from limits list (emails.send) or its route ("POST /api/v1/emails")')
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.set_defaults(func=wired(limits_reset))
    p = limits.add_parser("list", help="every endpoint's limits for a project")
    p.add_argument("--json", action="store_true", help="print JSON instead of columns")
    p.add_argument("--project", default="default", help="project id or name (default: default)")
    p.set_defaults(func=wired(limits_list))
