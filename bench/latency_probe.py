"""Handlers the latency benchmark's cluster imports (OUTBOX_HANDLER_MODULES)."""

from django.db import connection
from django.utils import timezone

from outbox.models import Event
from outbox.registry import subscriber

TABLE = "bench_latency"


def record(kind: str, seconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (kind, ms) VALUES (%s, %s)", [kind, seconds * 1000]
        )


@subscriber("bench.latency", name="bench.latency")
def record_outbox_latency(event: Event) -> None:
    # created_at is written in the publishing transaction, just before commit.
    record("outbox", (timezone.now() - event.created_at).total_seconds())


def record_bare_latency(enqueued_at: float) -> None:
    """A plain django-q2 task: how long from async_task to running."""
    record("bare", timezone.now().timestamp() - enqueued_at)
