"""Running claimed deliveries: in batches when all goes well, alone when not.

Atomic handlers of one batch run in one transaction that also marks them
done, so a batch costs a handful of queries whatever its size. If any of them
raises, that transaction is rolled back and the batch runs again one delivery
at a time, so each failure is recorded against its own delivery only.
"""

import logging
import random
import time
import traceback
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from outbox import claims
from outbox.conf import get_settings
from outbox.exceptions import RetryLater
from outbox.heartbeat import keep_leased
from outbox.models import Delivery
from outbox.registry import Subscriber, get_subscriber

logger = logging.getLogger(__name__)

State = Delivery.State

# An atomic batch commits after this much handler time, so that on SQLite the
# web server is not kept waiting for the write lock.
BATCH_TIME_S = 1.0
# Dead relays are rare; look for their expired leases this often, not per batch.
SUSPECT_CHECK_S = 1.0


@dataclass
class DrainStats:
    done: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0

    @property
    def handled(self) -> int:
        return self.done + self.failed + self.dead + self.skipped

    def add(self, other: "DrainStats") -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def count(self, state: State | None) -> None:
        if state == State.DONE:
            self.done += 1
        elif state == State.PENDING:
            self.failed += 1
        elif state == State.DEAD:
            self.dead += 1
        else:
            self.skipped += 1


class BatchFailed(Exception):
    """A handler raised inside a batch; the batch is rolled back and run alone."""


def drain(budget_s: float | None = None) -> DrainStats:
    """Claim and run deliveries until none is due or the time budget is spent."""
    conf = get_settings()
    budget = conf.drain_budget_s if budget_s is None else budget_s
    deadline = time.monotonic() + budget
    stats = DrainStats()
    pace = Pace(conf.batch_size)
    look_for_suspects_at = time.monotonic()
    while time.monotonic() < deadline:
        claim = claims.Claim()
        if time.monotonic() >= look_for_suspects_at:
            claim = claims.claim_suspect()
            if not claim:
                look_for_suspects_at = time.monotonic() + SUSPECT_CHECK_S
        claim = claim or claims.claim_batch(pace.batch_size())
        if not claim:
            break
        started = time.monotonic()
        run_claim(claim, deadline, stats)
        pace.record(len(claim.deliveries), time.monotonic() - started)
    return stats


class Pace:
    """Claims as many deliveries as this relay runs in about BATCH_TIME_S.

    Slow handlers make small claims, so that other relays get the rest
    instead of waiting for one relay to work through a large batch.
    """

    def __init__(self, most: int):
        self.most = most
        self.seconds_each: float | None = None

    def batch_size(self) -> int:
        if not self.seconds_each:
            return self.most
        return max(1, min(self.most, int(BATCH_TIME_S / self.seconds_each)))

    def record(self, count: int, seconds: float) -> None:
        each = seconds / max(count, 1)
        previous = self.seconds_each
        self.seconds_each = each if previous is None else (previous + each) / 2


def run_claim(claim: claims.Claim, deadline: float, stats: DrainStats) -> None:
    if all(is_atomic(d) for d in claim.deliveries):
        # Their transaction's row locks keep other relays away: no heartbeat.
        run_batch(claim, deadline, stats)
        return
    with keep_leased(claim.deliveries, claim.token, get_settings().lease_s):
        run_batch(claim, deadline, stats)


def run_batch(claim: claims.Claim, deadline: float, stats: DrainStats) -> None:
    if len(claim.deliveries) == 1:
        stats.count(run_delivery(claim.deliveries[0], claim.token))
        return
    in_transaction = [d for d in claim.deliveries if is_atomic(d)]
    outside = [d for d in claim.deliveries if not is_atomic(d)]
    run_atomic_batch(in_transaction, claim.token, deadline, stats)
    for position, delivery in enumerate(outside):
        if time.monotonic() >= deadline:
            claims.release(outside[position:], claim.token)
            return
        stats.count(run_delivery(delivery, claim.token))


def is_atomic(delivery: Delivery) -> bool:
    sub = get_subscriber(delivery.subscriber)
    return sub is not None and sub.atomic


def run_atomic_batch(
    batch: list[Delivery], token: uuid.UUID, deadline: float, stats: DrainStats
) -> None:
    """Run atomic handlers together; give back those there was no time for."""
    if not batch:
        return
    stop_at = min(deadline, time.monotonic() + BATCH_TIME_S)
    try:
        with transaction.atomic():
            # Marked done first: the same statement locks the rows, and the
            # handlers' effects commit with the mark or not at all.
            owned = set(claims.complete(batch, token))
            ran, left = run_handlers(batch, owned, stop_at)
            claims.reopen(left)
    except BatchFailed:
        for delivery in batch:
            stats.count(run_delivery(delivery, token))
        return

    log_done(ran)
    stats.done += len(ran)
    stats.skipped += len(batch) - len(ran) - len(left)


def run_handlers(
    batch: list[Delivery], owned: set[int], stop_at: float
) -> tuple[list[Delivery], list[Delivery]]:
    ran = []
    for position, delivery in enumerate(batch):
        if time.monotonic() >= stop_at:
            return ran, [d for d in batch[position:] if d.pk in owned]
        if delivery.pk not in owned:
            log_lost(delivery)
            continue
        try:
            get_subscriber(delivery.subscriber).handler(delivery.event)
        except Exception as error:
            raise BatchFailed from error
        ran.append(delivery)
    return ran, []


def run_delivery(delivery: Delivery, token: uuid.UUID) -> State | None:
    """Run one claimed delivery alone; return its new state, or None if lost."""
    sub = get_subscriber(delivery.subscriber)
    if delivery.attempts > get_settings().max_attempts:
        return mark_dead(
            delivery, token, delivery.last_error or claims.LEASE_EXPIRED, ""
        )
    if sub is None:
        error = LookupError(f"No subscriber is registered as {delivery.subscriber!r}.")
        return record_failure(delivery, token, error)

    try:
        if sub.atomic:
            return run_in_transaction(sub, delivery, token)
        return run_outside_transaction(sub, delivery, token)
    except Exception as error:  # noqa: BLE001 - recorded on the delivery and retried
        return record_failure(delivery, token, error)


def run_in_transaction(
    sub: Subscriber, delivery: Delivery, token: uuid.UUID
) -> State | None:
    with transaction.atomic():
        if not claims.complete([delivery], token):
            log_lost(delivery)
            return None
        sub.handler(delivery.event)
    log_done([delivery])
    return State.DONE


def run_outside_transaction(
    sub: Subscriber, delivery: Delivery, token: uuid.UUID
) -> State | None:
    if not claims.owned_by([delivery], token).exists():
        log_lost(delivery)
        return None
    sub.handler(delivery.event)
    if not claims.complete([delivery], token):
        log_lost(delivery)
        return None
    log_done([delivery])
    return State.DONE


def log_done(deliveries: list[Delivery]) -> None:
    if logger.isEnabledFor(logging.INFO):
        for delivery in deliveries:
            log_state(logging.INFO, delivery, State.DONE)


def compute_backoff(attempts: int) -> float:
    """Seconds to wait before the next attempt: doubling, capped, half jittered."""
    conf = get_settings()
    ceiling = min(conf.backoff_max_s, conf.backoff_base_s * 2 ** (attempts - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


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
    updated = claims.owned_by([delivery], token).update(
        state=State.PENDING,
        available_at=timezone.now() + timedelta(seconds=delay),
        leased_until=None,
        lease_token=None,
        last_error=message,
        last_traceback=trace,
    )
    if not updated:
        return None
    log_state(
        logging.WARNING,
        delivery,
        State.PENDING,
        note=f": {message}; again in {delay:.1f} s",
        error=message,
        retry_in_s=delay,
    )
    return State.PENDING


def mark_dead(
    delivery: Delivery, token: uuid.UUID, message: str, trace: str
) -> State | None:
    updated = claims.owned_by([delivery], token).update(
        state=State.DEAD,
        leased_until=None,
        lease_token=None,
        last_error=message,
        last_traceback=trace,
    )
    if not updated:
        return None
    log_state(logging.ERROR, delivery, State.DEAD, note=f": {message}", error=message)
    return State.DEAD


def log_lost(delivery: Delivery) -> None:
    logger.warning(
        "delivery %s lost its lease to another relay; skipped",
        delivery.pk,
        extra=delivery_fields(delivery),
    )


def log_state(
    level: int, delivery: Delivery, state: State, note: str = "", **fields
) -> None:
    if not logger.isEnabledFor(level):
        return
    logger.log(
        level,
        "delivery %s %s -> %s (attempt %s)%s",
        delivery.pk,
        delivery.subscriber,
        state,
        delivery.attempts,
        note,
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
