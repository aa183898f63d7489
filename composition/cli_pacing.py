"""Operator commands for pacing (`autorelay pacing set|list|clear`) and warm-ups
(`autorelay warmup set|list|clear`). Workers read the settings again within ten seconds."""

from __future__ import annotations

import argparse
from datetime import date

from autorelay_core.domain.pacing import BUILT_IN_GROUPS, pace_rule, ramp, warmup
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases import manage_pacing
from composition.cli_tables import Run, show
from composition.services import Services


def _per_minute(text: str) -> int:
    """`600`, `600/min`, `10/s`, `36000/hour`: messages a minute."""
    number, _, unit = text.strip().partition("/")
    scale = {"": 1.0, "min": 1.0, "m": 1.0, "s": 60.0, "sec": 60.0, "hour": 1 / 60, "h": 1 / 60}.get(unit)
    try:
        count = float(number)
    except ValueError:
        count = -1
    if scale is None or count <= 0 or count * scale < 1:
        raise Invalid(f"{text!r} is not a pace like 600/min, 10/s or 3600/hour (at least 1 a minute)")
    return round(count * scale)


def pacing_set(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        domains = tuple(args.domains.split(",")) if args.domains else ()
        rule = pace_rule(args.name, _per_minute(args.pace), domains)
        await manage_pacing.set_rule(services.deps, rule)
        print(f"{rule.name}: at most {rule.per_minute} a minute to {', '.join(rule.members())}")

    run(args, action)


def pacing_list(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        rules = {rule.name: rule for rule in await manage_pacing.rules(services.deps)}
        rows = [(name, str(rule.per_minute), ", ".join(rule.members())) for name, rule in sorted(rules.items())]
        unpaced = [(name, members) for name, members in BUILT_IN_GROUPS.items() if name not in rules]
        rows += [(name, "(no pace)", ", ".join(members)) for name, members in unpaced]
        show(("Destination", "Per minute", "Domains"), rows, as_json=args.json, empty="(no pacing)")

    run(args, action)


def pacing_clear(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        if not await manage_pacing.drop_rule(services.deps, args.name):
            raise NotFound(f"no pace is set for {args.name!r}")
        print(f"{args.name}: no pace")

    run(args, action)


def warmup_set(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        if bool(args.daily) == bool(args.ramp):
            raise Invalid("give the schedule as --daily 50,100,200 or as --ramp START,FACTOR,UNTIL")
        if args.daily:
            daily = tuple(_whole(n) for n in args.daily.split(","))
        else:
            start, factor, until = [*args.ramp.split(","), "", ""][:3]
            try:
                daily = ramp(int(start), float(factor), int(until))
            except ValueError:
                raise Invalid(f"{args.ramp!r} is not START,FACTOR,UNTIL like 50,1.5,20000") from None
        started = date.fromisoformat(args.start) if args.start else services.deps.clock.now().date()
        schedule = warmup(args.domain, started, daily)
        await manage_pacing.set_warmup(services.deps, schedule)
        print(f"{schedule.domain}: warm-up over {len(daily)} days from {started}: {', '.join(map(str, daily))} a day")

    run(args, action)


def _whole(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise Invalid(f"{text!r} is not a number of messages") from None


def warmup_list(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        now = services.deps.clock.now()
        rows = []
        for schedule in await manage_pacing.warmups(services.deps):
            state = await services.deps.pacer.today(schedule.domain, now)
            allowance, sent = (state[1], state[2]) if state else (None, 0)
            day = schedule.day(now.date())
            status = "not started" if day < 1 else f"day {day} of {len(schedule.daily)}" if allowance else "done"
            rows.append((schedule.domain, status, allowance if allowance else "-", sent, f"{schedule.started_on}"))
        show(("Domain", "Status", "Today", "Last 24 h", "Started"), rows, as_json=args.json, empty="(no warm-ups)")

    run(args, action)


def warmup_clear(args: argparse.Namespace, run: Run) -> None:
    async def action(services: Services) -> None:
        if not await manage_pacing.drop_warmup(services.deps, args.domain):
            raise NotFound(f"{args.domain!r} has no warm-up")
        print(f"{args.domain}: no warm-up (no daily cap)")

    run(args, action)


def add_pacing_commands(commands, run: Run) -> None:
    def wired(handler):
        return lambda args: handler(args, run)

    pacing = commands.add_parser("pacing", help="messages per minute per receiving domain group")
    pacing = pacing.add_subparsers(dest="action", required=True)
    p = pacing.add_parser("set", help="pace a destination: gmail, microsoft, yahoo, a domain, or a group of yours")
    p.add_argument("name", help="gmail, microsoft, yahoo, a domain (example.org) or a new group's name")
    p.add_argument("pace", help="messages per minute: 600, 600/min, 10/s or 36000/hour")
    p.add_argument("--domains", help="a new group's domains, comma-separated")
    p.set_defaults(func=wired(pacing_set))
    p = pacing.add_parser("list", help="the destinations and their paces")
    p.add_argument("--json", action="store_true", help="print JSON instead of columns")
    p.set_defaults(func=wired(pacing_list))
    p = pacing.add_parser("clear", help="stop pacing a destination")
    p.add_argument("name", help="the destination")
    p.set_defaults(func=wired(pacing_clear))

    warm = commands.add_parser("warmup", help="daily volume ramps for new sending domains")
    warm = warm.add_subparsers(dest="action", required=True)
    p = warm.add_parser("set", help="give a sending domain a warm-up schedule (mail beyond the day's volume waits)")
    p.add_argument("domain", help="the sending domain, e.g. news.example.com")
    p.add_argument("--daily", help="the volume of each day, comma-separated: 50,100,200,500")
    p.add_argument("--ramp", help="START,FACTOR,UNTIL: 50,1.5,20000 grows 50 a day by half each day to 20,000")
    p.add_argument("--start", help="the first day (YYYY-MM-DD; default: today, UTC)")
    p.set_defaults(func=wired(warmup_set))
    p = warm.add_parser("list", help="warm-ups with today's volume and what went in the last 24 hours")
    p.add_argument("--json", action="store_true", help="print JSON instead of columns")
    p.set_defaults(func=wired(warmup_list))
    p = warm.add_parser("clear", help="end a domain's warm-up")
    p.add_argument("domain", help="the sending domain")
    p.set_defaults(func=wired(warmup_clear))
