import json
import time

from django.core.management.base import BaseCommand
from django.db.models import Count, Min
from django.utils import timezone

from outbox import relay
from outbox.models import Delivery

State = Delivery.State


class Command(BaseCommand):
    help = "Operate the outbox: see its state, or drain it in the foreground."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        status = actions.add_parser("status", help="Counts by state and subscriber.")
        status.add_argument("--json", action="store_true", help="Print JSON.")
        drain = actions.add_parser("drain", help="Run due deliveries here.")
        drain.add_argument(
            "--forever", action="store_true", help="Keep draining until stopped."
        )
        drain.add_argument(
            "--poll", type=float, default=1.0, help="Seconds between idle polls."
        )

    def handle(self, *args, action, **options):
        if action == "status":
            self.show_status(as_json=options["json"])
        else:
            self.drain(forever=options["forever"], poll=options["poll"])

    def show_status(self, as_json: bool) -> None:
        status = describe_outbox()
        if as_json:
            self.stdout.write(json.dumps(status, indent=2))
            return
        for subscriber, counts in sorted(status["by_subscriber"].items()):
            line = "  ".join(f"{state}={n}" for state, n in sorted(counts.items()))
            self.stdout.write(f"{subscriber:40} {line}")
        lag = status["oldest_pending_s"]
        self.stdout.write(f"oldest pending: {'-' if lag is None else f'{lag:.1f} s'}")
        self.stdout.write(f"dead: {status['by_state'].get(State.DEAD, 0)}")

    def drain(self, forever: bool, poll: float) -> None:
        while True:
            stats = relay.drain()
            if stats.handled:
                self.stdout.write(
                    f"done={stats.done} failed={stats.failed} dead={stats.dead} "
                    f"skipped={stats.skipped}"
                )
            if not forever and not relay.has_claimable():
                return
            if not stats.handled:
                time.sleep(poll)


def describe_outbox() -> dict:
    """Counts by state and by subscriber, and the age of the oldest due delivery."""
    rows = Delivery.objects.values("subscriber", "state").annotate(n=Count("id"))
    by_state: dict[str, int] = {}
    by_subscriber: dict[str, dict[str, int]] = {}
    for row in rows:
        by_state[row["state"]] = by_state.get(row["state"], 0) + row["n"]
        by_subscriber.setdefault(row["subscriber"], {})[row["state"]] = row["n"]

    oldest = Delivery.objects.filter(state=State.PENDING).aggregate(
        oldest=Min("available_at")
    )["oldest"]
    lag = None
    if oldest is not None:
        lag = max((timezone.now() - oldest).total_seconds(), 0.0)
    return {
        "by_state": by_state,
        "by_subscriber": by_subscriber,
        "oldest_pending_s": lag,
    }
