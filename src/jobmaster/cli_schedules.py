"""``jobmaster schedules ls|show|pause|resume|cancel`` (the style of ``jobmaster jobs``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .app import JobMaster
from .recurring.records import ScheduleInfo, ScheduleKind, ScheduleStatus


def add_schedules_parser(sub: Any) -> None:
    """Register the ``schedules`` command on the top-level subparsers."""
    schedules = sub.add_parser("schedules", help="list, show, pause, resume or cancel schedules")
    schedules_sub = schedules.add_subparsers(dest="schedules_command", required=True)
    ls = schedules_sub.add_parser("ls", help="list schedules by id")
    ls.add_argument("--status", choices=[s.value for s in ScheduleStatus])
    ls.add_argument("--kind", choices=[k.value for k in ScheduleKind])
    ls.add_argument("--definition")
    ls.add_argument("--profile")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--after", help="the last id of the previous page")
    commands = [ls]
    for name in ("show", "pause", "resume", "cancel"):
        one = schedules_sub.add_parser(name, help=f"{name} one schedule")
        one.add_argument("schedule_id")
        commands.append(one)
    for command in commands:
        command.add_argument("--app", default=os.environ.get("JOBMASTER_APP"),
                             required="JOBMASTER_APP" not in os.environ,
                             help="module:attribute of a JobMaster (or $JOBMASTER_APP)")


def cmd_schedules(args: argparse.Namespace) -> int:
    """Run one ``schedules`` subcommand; exit code 1 when the schedule is unknown or the
    transition does not apply."""
    from .cli import _print_table, _run, _time, _with_app, load_app

    app = load_app(args.app)

    async def ls(app: JobMaster) -> int:
        found = await app.scheduler.list_schedules(
            status=args.status, kind=args.kind, definition=args.definition,
            profile_id=args.profile, limit=args.limit, after_id=args.after)
        _print_table(["id", "kind", "status", "definition", "expression", "next run"],
                     [[s.id, s.kind.value, s.status.value, s.definition_id,
                       _expression(s), _time(s.next_run_at)] for s in found])
        if len(found) == args.limit:
            print(f"next page: --after {found[-1].id}")
        return 0

    async def show(app: JobMaster) -> int:
        info = await app.scheduler.get_schedule(args.schedule_id)
        if info is None:
            print(f"schedule {args.schedule_id} not found", file=sys.stderr)
            return 1
        _print_schedule(info, _time)
        return 0

    async def transition(app: JobMaster) -> int:
        call = {"pause": app.scheduler.pause_recurring, "resume": app.scheduler.resume_recurring,
                "cancel": app.scheduler.cancel_recurring}[args.schedules_command]
        done = await call(args.schedule_id)
        past = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}
        if done:
            print(past[args.schedules_command])
            return 0
        info = await app.scheduler.get_schedule(args.schedule_id)
        reason = "unknown schedule" if info is None else f"it is {info.status.value}"
        print(f"not {past[args.schedules_command]}: {reason}", file=sys.stderr)
        return 1

    action = {"ls": ls, "show": show}.get(args.schedules_command, transition)
    result: int = _run(_with_app(app, action))
    return result


def _expression(info: ScheduleInfo) -> str:
    zone = "" if info.tz == "UTC" or " tz " in info.expression else f" ({info.tz})"
    return f"{info.expression}{zone}"


def _print_schedule(info: ScheduleInfo, time: Any) -> None:
    fields = [("id", info.id), ("kind", info.kind.value), ("static key", info.static_key or ""),
              ("status", info.status.value), ("definition", info.definition_id),
              ("expression", f"{info.expression} [{info.expression_kind}, {info.tz}]"),
              ("next run", time(info.next_run_at)), ("lane", info.lane),
              ("priority", str(info.priority)), ("misfire", info.misfire.value),
              ("overlap", "allowed" if info.allow_overlap else "skip while running"),
              ("start after", time(info.start_after)), ("end before", time(info.end_before)),
              ("missed", str(info.missed_count)), ("skipped", str(info.skipped_count)),
              ("created", time(info.created_at)), ("updated", time(info.updated_at)),
              ("data", repr(info.msg_data.to_dict()))]
    for name, value in fields:
        print(f"{name:>11}: {value}")
