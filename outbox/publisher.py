"""Writing events, and waking the relay once they are committed."""

import logging
import threading
import time

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from outbox.conf import get_settings
from outbox.exceptions import NotInTransaction
from outbox.models import Delivery, Event
from outbox.registry import Subscriber, get_subscribers

logger = logging.getLogger(__name__)

DRAIN_TASK = "outbox.tasks.drain_outbox"

_nudge_lock = threading.Lock()
_last_nudge = 0.0


def publish(topic: str, payload: dict, *, key: str = "") -> Event:
    """Record ``topic`` with one delivery per subscriber, in the open transaction.

    The caller's transaction makes the event as durable as the change it
    describes: both commit or neither does.
    """
    if not connections[DEFAULT_DB_ALIAS].in_atomic_block:
        raise NotInTransaction(
            f"publish({topic!r}) must run inside transaction.atomic()."
        )

    event = record_event(topic, payload, key, get_subscribers(topic))
    logger.info(
        "event published: %s #%s",
        topic,
        event.pk,
        extra={"event_id": event.pk, "topic": topic},
    )
    if get_settings().inline:
        transaction.on_commit(lambda: run_inline(event.pk))
    else:
        transaction.on_commit(nudge_relay)
    return event


def run_inline(event_id: int) -> None:
    from outbox import claims, relay

    claim = claims.claim_event(event_id)
    if claim:
        relay.run_claim(claim, deadline=float("inf"), stats=relay.DrainStats())


def record_event(
    topic: str,
    payload: dict,
    key: str,
    subscribers: list[Subscriber],
    replay_of: Event | None = None,
) -> Event:
    event = Event.objects.create(
        topic=topic, key=key, payload=payload, replay_of=replay_of
    )
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(
            event=event,
            subscriber=sub.name,
            key=key,
            ordered=sub.ordered,
            available_at=now,
        )
        for sub in subscribers
    )
    return event


def nudge_relay() -> None:
    """Ask the cluster for a drain, at most once per interval from this process.

    A nudge skipped here is covered by the drain that the previous nudge
    started: it lingers for longer than the interval before it stops.
    """
    global _last_nudge
    interval = get_settings().nudge_interval_s
    with _nudge_lock:
        now = time.monotonic()
        if now - _last_nudge < interval:
            return
        _last_nudge = now
    enqueue_drain()


def enqueue_drain() -> None:
    from django_q.brokers import get_broker
    from django_q.tasks import async_task

    try:
        # A drain still waiting in the queue will see these events too; under
        # steady load this keeps the queue from filling with drains.
        if get_broker().queue_size() > 0:
            return
        async_task(DRAIN_TASK, task_name="outbox drain", group="outbox")
    except Exception:
        # The events are committed; the one-minute sweep drains them even if
        # the broker is down now, so the request must not fail for this.
        logger.warning("could not enqueue a drain; the sweep will", exc_info=True)
