"""Claiming deliveries and running their handlers.

Any number of relays may run this at once, on any number of machines. On
PostgreSQL claims skip rows locked by others; on SQLite the immediate
transactions serialize them. A delivery is leased while it runs; when a lease
expires (its worker died), the delivery can be claimed again, and the claim
counts as an attempt.
"""

import logging
import random
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from outbox.conf import get_settings
from outbox.exceptions import RetryLater
from outbox.models import Delivery
from outbox.registry import Subscriber, get_subscriber

logger = logging.getLogger(__name__)

State = Delivery.State

LEASE_EXPIRED = "The lease expired before the attempt finished (worker lost)."


@dataclass
class DrainStats:
    done: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0

    @property
    def handled(self) -> int:
        return self.done + self.failed + self.dead + self.skipped


def claimable(now: datetime) -> Q:
    pending = Q(state=State.PENDING, available_at__lte=now)
    expired = Q(state=State.RUNNING, leased_until__lt=now)
    return pending | expired


def has_claimable() -> bool:
    """Tell cheaply, without a write lock, whether a claim would find work."""
    return Delivery.objects.filter(claimable(timezone.now())).exists()


def claim_batch(limit: int | None = None) -> tuple[uuid.UUID, list[Delivery]]:
    """Lease up to ``limit`` due deliveries to this relay, oldest first."""
    conf = get_settings()
    token = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(claimable(now))
            .order_by("available_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[: limit or conf.batch_size]
        )
        if not ids:
            return token, []
        Delivery.objects.filter(id__in=ids, state=State.RUNNING).update(
            last_error=LEASE_EXPIRED, last_traceback=""
        )
        Delivery.objects.filter(id__in=ids).update(
            state=State.RUNNING,
            lease_token=token,
            leased_until=now + timedelta(seconds=conf.lease_s),
            attempts=F("attempts") + 1,
        )
    batch = Delivery.objects.filter(id__in=ids).select_related("event").order_by("id")
    return token, list(batch)


def compute_backoff(attempts: int) -> float:
    """Seconds to wait before the next attempt: doubling, capped, half jittered."""
    conf = get_settings()
    ceiling = min(conf.backoff_max_s, conf.backoff_base_s * 2 ** (attempts - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def run_delivery(delivery: Delivery, token: uuid.UUID) -> State | None:
    """Run one claimed delivery; return its new state, or None if it was lost."""
    sub = get_subscriber(delivery.subscriber)
    if delivery.attempts > get_settings().max_attempts:
        return mark_dead(delivery, token, delivery.last_error or LEASE_EXPIRED, "")
    if sub is None:
        error = LookupError(f"No subscriber is registered as {delivery.subscriber!r}.")
        return record_failure(delivery, token, error)

    try:
        if sub.atomic:
            return run_atomic(sub, delivery, token)
        return run_outside_transaction(sub, delivery, token)
    except Exception as error:  # noqa: BLE001 - every failure is recorded and retried
        return record_failure(delivery, token, error)


def run_atomic(sub: Subscriber, delivery: Delivery, token: uuid.UUID) -> State | None:
    with transaction.atomic():
        # The row lock keeps a relay that sees the lease expire from claiming
        # the delivery while this handler still runs (PostgreSQL).
        owned = list(owned_by(delivery, token).select_for_update().values("id"))
        if not owned:
            log_lost(delivery)
            return None
        sub.handler(delivery.event)
        mark_done(delivery, token)
    return State.DONE


def run_outside_transaction(
    sub: Subscriber, delivery: Delivery, token: uuid.UUID
) -> State | None:
    if not owned_by(delivery, token).exists():
        log_lost(delivery)
        return None
    sub.handler(delivery.event)
    if not mark_done(delivery, token):
        log_lost(delivery)
        return None
    return State.DONE


def owned_by(delivery: Delivery, token: uuid.UUID):
    return Delivery.objects.filter(
        pk=delivery.pk, state=State.RUNNING, lease_token=token
    )


def mark_done(delivery: Delivery, token: uuid.UUID) -> bool:
    updated = owned_by(delivery, token).update(
        state=State.DONE, done_at=timezone.now(), leased_until=None, lease_token=None
    )
    if updated:
        log_state(logging.INFO, delivery, State.DONE)
    return bool(updated)


def record_failure(
    delivery: Delivery, token: uuid.UUID, error: Exception
) -> State | None:
    message = f"{type(error).__name__}: {error}"
    trace = "".join(traceback.format_exception(error))
    if delivery.attempts >= get_settings().max_attempts:
        return mark_dead(delivery, token, message, trace)

    if isinstance(error, RetryLater):
        delay = max(error.delay_s, 0)
    else:
        delay = compute_backoff(delivery.attempts)
    updated = owned_by(delivery, token).update(
        state=State.PENDING,
        available_at=timezone.now() + timedelta(seconds=delay),
        leased_until=None,
        lease_token=None,
        last_error=message,
        last_traceback=trace,
    )
    if not updated:
        return None
    log_state(logging.WARNING, delivery, State.PENDING, error=message, retry_in_s=delay)
    return State.PENDING


def mark_dead(
    delivery: Delivery, token: uuid.UUID, message: str, trace: str
) -> State | None:
    updated = owned_by(delivery, token).update(
        state=State.DEAD,
        leased_until=None,
        lease_token=None,
        last_error=message,
        last_traceback=trace,
    )
    if not updated:
        return None
    log_state(logging.ERROR, delivery, State.DEAD, error=message)
    return State.DEAD


def release(deliveries: list[Delivery], token: uuid.UUID) -> None:
    """Give back claimed deliveries that were not started; no attempt is spent."""
    Delivery.objects.filter(
        id__in=[d.pk for d in deliveries], state=State.RUNNING, lease_token=token
    ).update(
        state=State.PENDING,
        leased_until=None,
        lease_token=None,
        attempts=F("attempts") - 1,
    )


def drain(budget_s: float | None = None) -> DrainStats:
    """Claim and run batches until nothing is due or the time budget is spent."""
    conf = get_settings()
    deadline = time.monotonic() + (
        budget_s if budget_s is not None else conf.drain_budget_s
    )
    stats = DrainStats()
    while time.monotonic() < deadline:
        token, batch = claim_batch()
        if not batch:
            break
        for position, delivery in enumerate(batch):
            if time.monotonic() >= deadline:
                release(batch[position:], token)
                break
            count(stats, run_delivery(delivery, token))
    return stats


def count(stats: DrainStats, state: State | None) -> None:
    if state == State.DONE:
        stats.done += 1
    elif state == State.PENDING:
        stats.failed += 1
    elif state == State.DEAD:
        stats.dead += 1
    else:
        stats.skipped += 1


def log_lost(delivery: Delivery) -> None:
    logger.warning(
        "delivery %s lost its lease to another relay; skipped",
        delivery.pk,
        extra=delivery_fields(delivery),
    )


def log_state(level: int, delivery: Delivery, state: State, **fields) -> None:
    logger.log(
        level,
        "delivery %s %s -> %s (attempt %s)",
        delivery.pk,
        delivery.subscriber,
        state,
        delivery.attempts,
        extra={**delivery_fields(delivery), "state": str(state), **fields},
    )


def delivery_fields(delivery: Delivery) -> dict:
    return {
        "delivery_id": delivery.pk,
        "event_id": delivery.event_id,
        "topic": delivery.event.topic,
        "subscriber": delivery.subscriber,
        "attempt": delivery.attempts,
    }
