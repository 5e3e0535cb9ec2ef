import argparse
import json
import re
import time
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from outbox import claims, operations, relay, retention
from outbox.models import Delivery

State = Delivery.State
DURATION = re.compile(r"(\d+)([smhdw])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """Read "90s", "30m", "12h", "7d" or "2w"."""
    match = DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 12h or 7d")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def parse_moment(text: str) -> datetime:
    """Read an ISO date-time, or a duration meaning that long ago."""
    try:
        return timezone.now() - parse_duration(text)
    except ValueError:
        pass
    moment = parse_datetime(text) or parse_datetime(f"{text}T00:00:00")
    if moment is None:
        raise ValueError(f"{text!r} is neither an ISO date-time nor a duration")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def checked(parse):
    def read(text: str):
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return read


class Command(BaseCommand):
    help = "Operate the outbox: status, drain, retry, replay and purge."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)

        status = actions.add_parser("status", help="Counts, lag and dead deliveries.")
        status.add_argument(
            "--json", action="store_true", dest="as_json", help="Print JSON."
        )

        drain = actions.add_parser("drain", help="Run due deliveries in this process.")
        drain.add_argument("--forever", action="store_true", help="Run until stopped.")
        drain.add_argument("--poll", type=float, default=1.0, help="Idle poll, s.")

        retry = actions.add_parser("retry", help="Queue dead deliveries again.")
        add_filters(retry)

        kill = actions.add_parser("kill", help="Mark pending deliveries dead.")
        add_filters(kill)
        kill.add_argument("--reason", default="Marked dead by an operator.")

        replay = actions.add_parser("replay", help="Deliver past events again.")
        replay.add_argument("--topic", required=True)
        replay.add_argument("--since", required=True, type=checked(parse_moment))
        replay.add_argument("--until", type=checked(parse_moment))
        replay.add_argument("--subscriber")

        purge = actions.add_parser("purge", help="Delete old done deliveries.")
        purge.add_argument(
            "--older-than", required=True, type=checked(parse_duration), help="7d"
        )
        purge.add_argument("--dead", action="store_true", help="Dead ones too.")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_status(self, as_json: bool = False, **options) -> None:
        status = operations.describe_outbox()
        if as_json:
            self.stdout.write(dump(status))
            return
        for subscriber, counts in sorted(status["by_subscriber"].items()):
            line = "  ".join(f"{state}={n}" for state, n in sorted(counts.items()))
            self.stdout.write(f"{subscriber:40} {line}")
        lag = status["oldest_pending_s"]
        self.stdout.write(f"oldest due: {'-' if lag is None else f'{lag:.1f} s ago'}")
        self.stdout.write(f"dead: {status['dead']}")

    def do_drain(self, forever: bool, poll: float, **options) -> None:
        while True:
            try:
                stats = relay.drain()
            except DatabaseError as error:
                self.stderr.write(f"database error, reconnecting: {error}")
                connection.close()
                time.sleep(poll)
                continue
            if stats.handled:
                self.stdout.write(describe(stats))
            if not forever and not claims.has_claimable():
                return
            if not stats.handled:
                time.sleep(poll)

    def do_retry(self, **options) -> None:
        rows = operations.select_deliveries(states=[State.DEAD], **filters(options))
        count = operations.retry_deliveries(rows)
        self.stdout.write(f"{count} dead deliveries queued again.")

    def do_kill(self, reason: str, **options) -> None:
        if not any(filters(options).values()):
            raise CommandError(
                "Say which deliveries to kill (--ids, --subscriber, --topic, "
                "--since or --until); killing every pending one is not a default."
            )
        rows = operations.select_deliveries(states=[State.PENDING], **filters(options))
        count = operations.kill_deliveries(rows, reason)
        self.stdout.write(f"{count} pending deliveries marked dead.")

    def do_replay(self, topic, since, until, subscriber, **options) -> None:
        try:
            count = operations.replay_events(
                topic, since, until or timezone.now(), subscriber
            )
        except LookupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{count} {topic} events replayed.")

    def do_purge(self, older_than: timedelta, dead: bool, **options) -> None:
        count = retention.purge_done(older_than, dead=dead)
        self.stdout.write(f"{count} deliveries purged.")


def add_filters(parser) -> None:
    parser.add_argument("--subscriber")
    parser.add_argument("--topic")
    parser.add_argument("--ids", type=int, nargs="+", help="Delivery ids.")
    parser.add_argument("--since", type=checked(parse_moment), help="7d or ISO")
    parser.add_argument("--until", type=checked(parse_moment), help="1h or ISO")


def filters(options: dict) -> dict:
    names = ["subscriber", "topic", "ids", "since", "until"]
    return {name: options.get(name) for name in names}


def describe(stats: relay.DrainStats) -> str:
    return (
        f"done={stats.done} failed={stats.failed} dead={stats.dead} "
        f"skipped={stats.skipped}"
    )


def dump(status: dict) -> str:
    return json.dumps(status, indent=2, sort_keys=True)
