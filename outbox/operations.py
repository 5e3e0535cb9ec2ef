"""What operators do to the outbox: look at it, retry, replay, purge."""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from outbox.models import Delivery, Event
from outbox.publisher import nudge_relay, record_event
from outbox.registry import get_subscriber, get_subscribers

logger = logging.getLogger(__name__)

State = Delivery.State


def describe_outbox() -> dict:
    """Counts by state and by subscriber, and the age of the oldest due delivery."""
    rows = Delivery.objects.values("subscriber", "state").annotate(n=Count("id"))
    by_state: dict[str, int] = {}
    by_subscriber: dict[str, dict[str, int]] = {}
    for row in rows.order_by():
        by_state[row["state"]] = by_state.get(row["state"], 0) + row["n"]
        by_subscriber.setdefault(row["subscriber"], {})[row["state"]] = row["n"]
    return {
        "by_state": by_state,
        "by_subscriber": by_subscriber,
        "oldest_pending_s": measure_lag(),
        "dead": by_state.get(State.DEAD, 0),
    }


def measure_lag() -> float | None:
    """Seconds the oldest due delivery has waited, or None if none waits.

    A delivery whose relay died counts as waiting from when its lease ran out.
    """
    now = timezone.now()
    due = Delivery.objects.filter(state=State.PENDING, available_at__lte=now)
    stuck = Delivery.objects.filter(state=State.RUNNING, leased_until__lt=now)
    oldest = [
        due.aggregate(oldest=Min("available_at"))["oldest"],
        stuck.aggregate(oldest=Min("leased_until"))["oldest"],
    ]
    oldest = [moment for moment in oldest if moment is not None]
    if not oldest:
        return None
    return max((now - min(oldest)).total_seconds(), 0.0)


def select_deliveries(
    *,
    states: list[str],
    subscriber: str | None = None,
    topic: str | None = None,
    ids: list[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet:
    rows = Delivery.objects.filter(state__in=states)
    if subscriber:
        rows = rows.filter(subscriber=subscriber)
    if topic:
        rows = rows.filter(event__topic=topic)
    if ids:
        rows = rows.filter(id__in=ids)
    if since:
        rows = rows.filter(event__created_at__gte=since)
    if until:
        rows = rows.filter(event__created_at__lt=until)
    return rows


def retry_deliveries(rows: QuerySet) -> int:
    """Queue the given (dead or pending) deliveries to run now, with fresh attempts."""
    with transaction.atomic():
        count = rows.exclude(state__in=[State.DONE, State.RUNNING]).update(
            state=State.PENDING,
            available_at=timezone.now(),
            attempts=0,
            leased_until=None,
            lease_token=None,
        )
        transaction.on_commit(nudge_relay)
    logger.info("%s deliveries queued again", count, extra={"retried": count})
    return count


def kill_deliveries(rows: QuerySet, reason: str) -> int:
    """Stop retrying the given deliveries; they stay for inspection as dead."""
    with transaction.atomic():
        count = rows.exclude(state=State.DONE).update(
            state=State.DEAD,
            leased_until=None,
            lease_token=None,
            last_error=reason,
        )
    logger.info("%s deliveries marked dead", count, extra={"killed": count})
    return count


def replay_events(
    topic: str,
    since: datetime,
    until: datetime,
    subscriber: str | None = None,
    batch_size: int = 500,
) -> int:
    """Deliver past events again, as new events with new deliveries."""
    subscribers = get_subscribers(topic)
    if subscriber is not None:
        subscribers = [s for s in subscribers if s.name == subscriber]
        if not subscribers:
            raise LookupError(f"{subscriber!r} does not subscribe to {topic!r}.")

    past = Event.objects.filter(
        topic=topic, created_at__gte=since, created_at__lt=until, replay_of=None
    ).order_by("id")
    replayed = 0
    for chunk in chunked_ids(past, batch_size):
        with transaction.atomic():
            for event in Event.objects.filter(id__in=chunk).order_by("id"):
                record_event(event.topic, event.payload, event.key, subscribers, event)
            transaction.on_commit(nudge_relay)
        replayed += len(chunk)
    logger.info("replayed %s %s events", replayed, topic, extra={"topic": topic})
    return replayed


def chunked_ids(rows: QuerySet, size: int):
    last_id = 0
    while True:
        ids = list(rows.filter(id__gt=last_id).values_list("id", flat=True)[:size])
        if not ids:
            return
        yield ids
        last_id = ids[-1]


def known_subscriber(name: str) -> bool:
    return get_subscriber(name) is not None
