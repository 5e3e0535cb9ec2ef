"""Leasing due deliveries to one relay at a time.

Any number of relays may claim at once, on any number of machines. On
PostgreSQL a claim skips rows that another relay has locked; on SQLite the
immediate transactions make claims take turns. A claim counts as an attempt.
A lease that runs out (its relay died) makes the delivery a *suspect*: it is
claimed again alone, so a delivery that kills its relay cannot charge
attempts to the ones it shared a batch with.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from outbox.conf import get_settings
from outbox.models import Delivery, Event

logger = logging.getLogger(__name__)

State = Delivery.State

LEASE_EXPIRED = "The lease expired before the attempt finished (worker lost)."


@dataclass
class Claim:
    token: uuid.UUID = field(default_factory=uuid.uuid4)
    deliveries: list[Delivery] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.deliveries)


def due(now: datetime) -> Q:
    return Q(state=State.PENDING, available_at__lte=now)


def expired(now: datetime) -> Q:
    return Q(state=State.RUNNING, leased_until__lt=now)


def has_claimable() -> bool:
    """Tell cheaply, without a write lock, whether a claim might find work."""
    now = timezone.now()
    return Delivery.objects.filter(due(now) | expired(now)).exists()


# One statement claims a batch: it is the relay's hottest path, so it is
# written out. A delivery of an ordered subscriber is due only when no
# earlier one of its key is unfinished.
CLAIM = """
UPDATE outbox_delivery
SET state = 'running', lease_token = %s, leased_until = %s,
    attempts = outbox_delivery.attempts + 1{changes}
{join}WHERE {joined}outbox_delivery.id IN (
    SELECT d.id FROM outbox_delivery d
    WHERE {condition}
    ORDER BY {order}
    LIMIT %s{lock}
)
RETURNING {returning}
"""
# PostgreSQL returns each delivery with its event, saving a query per batch;
# SQLite's RETURNING sees only the updated table, so there the events are
# fetched after.
WITH_EVENTS = {
    "join": "FROM outbox_event e\n",
    "joined": "e.id = outbox_delivery.event_id AND ",
    "returning": "outbox_delivery.id, outbox_delivery.subscriber, "
    "outbox_delivery.attempts, outbox_delivery.last_error, "
    "e.id, e.topic, e.key, e.payload, e.created_at",
}
IDS_ONLY = {"join": "", "joined": "", "returning": "id"}
DUE = """d.state = 'pending' AND d.available_at <= %s AND (NOT d.ordered OR NOT EXISTS (
    SELECT 1 FROM outbox_delivery e
    WHERE e.ordered AND e.subscriber = d.subscriber AND e.key = d.key
    AND e.id < d.id AND e.state <> 'done'))"""
EXPIRED = "d.state = 'running' AND d.leased_until < %s"


def claim_batch(limit: int | None = None) -> Claim:
    """Lease up to ``limit`` due deliveries, oldest first."""
    limit = limit or get_settings().batch_size
    return lease(DUE, "d.available_at, d.id", limit)


def claim_event(event_id: int) -> Claim:
    """Lease the due deliveries of one event (inline mode)."""
    condition = f"d.event_id = {int(event_id)} AND {DUE}"
    return lease(condition, "d.id", get_settings().batch_size)


def claim_suspect() -> Claim:
    """Lease one delivery whose relay died while running it."""
    return lease(EXPIRED, "d.leased_until, d.id", 1, last_error=LEASE_EXPIRED)


def lease(condition: str, order: str, limit: int, last_error: str = "") -> Claim:
    claim = Claim()
    now = timezone.now()
    until = now + timedelta(seconds=get_settings().lease_s)
    changes = ", last_error = %s, last_traceback = ''" if last_error else ""
    skips_locked = connection.features.has_select_for_update_skip_locked
    lock = " FOR UPDATE SKIP LOCKED" if skips_locked else ""
    shape = WITH_EVENTS if connection.vendor == "postgresql" else IDS_ONLY
    sql = CLAIM.format(
        changes=changes, condition=condition, order=order, lock=lock, **shape
    )
    params = [to_db(claim.token), to_db_time(until)]
    params += [last_error] if last_error else []
    params += [to_db_time(now), limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if shape is IDS_ONLY:
        fetched = Delivery.objects.filter(id__in=[row[0] for row in rows])
        claim.deliveries = list(fetched.select_related("event").order_by("id"))
    else:
        claim.deliveries = sorted(
            (to_delivery(row, claim, until) for row in rows), key=by_id
        )
    log_claimed(claim)
    return claim


def log_claimed(claim: Claim) -> None:
    """One line per delivery that went running; DEBUG, as it is the busy path."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    for delivery in claim.deliveries:
        logger.debug(
            "delivery %s %s -> running (attempt %s)",
            delivery.pk,
            delivery.subscriber,
            delivery.attempts,
            extra={
                "delivery_id": delivery.pk,
                "event_id": delivery.event_id,
                "topic": delivery.event.topic,
                "subscriber": delivery.subscriber,
                "attempt": delivery.attempts,
                "state": State.RUNNING.value,
            },
        )


def to_delivery(row: tuple, claim: Claim, until: datetime) -> Delivery:
    """Build the claimed delivery and its event from one returned row."""
    delivery_id, subscriber, attempts, last_error, *event_columns = row
    event_id, topic, key, payload, created_at = event_columns
    payload_field = Event._meta.get_field("payload")
    created_field = Event._meta.get_field("created_at")
    event = Event(
        id=event_id,
        topic=topic,
        key=key,
        payload=payload_field.from_db_value(payload, None, connection),
        created_at=convert(created_field, created_at),
    )
    return Delivery(
        id=delivery_id,
        event=event,
        subscriber=subscriber,
        key=key,
        state=State.RUNNING,
        attempts=attempts,
        lease_token=claim.token,
        leased_until=until,
        last_error=last_error,
    )


def convert(field, value):
    for converter in connection.ops.get_db_converters(
        field.get_col(field.model._meta.db_table)
    ):
        value = converter(value, field.get_col(field.model._meta.db_table), connection)
    return value


def by_id(delivery: Delivery) -> int:
    return delivery.pk


def complete(deliveries: list[Delivery], token: uuid.UUID) -> list[int]:
    """Mark these deliveries done if the lease is still ours; return those marked.

    Inside a transaction this also locks them, so handlers run after it in the
    same transaction cannot be overtaken by a relay that sees the lease expire.
    """
    if not deliveries:
        return []
    marks = ", ".join(["%s"] * len(deliveries))
    sql = (
        "UPDATE outbox_delivery SET state = 'done', done_at = %s, "
        "lease_token = NULL, leased_until = NULL "
        f"WHERE state = 'running' AND lease_token = %s AND id IN ({marks}) "
        "RETURNING id"
    )
    params = [to_db_time(timezone.now()), to_db(token), *[d.pk for d in deliveries]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def to_db(token: uuid.UUID):
    return Delivery._meta.get_field("lease_token").get_db_prep_value(token, connection)


def to_db_time(moment: datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def release(deliveries: list[Delivery], token: uuid.UUID) -> int:
    """Give back claimed deliveries that were not started; no attempt is spent."""
    return Delivery.objects.filter(
        id__in=[d.pk for d in deliveries], state=State.RUNNING, lease_token=token
    ).update(
        state=State.PENDING,
        leased_until=None,
        lease_token=None,
        attempts=F("attempts") - 1,
    )


def reopen(deliveries: list[Delivery]) -> int:
    """Undo ``complete`` for deliveries a batch had no time to run.

    Call in the same transaction as ``complete``, whose locks they still hold.
    """
    return Delivery.objects.filter(
        id__in=[d.pk for d in deliveries], state=State.DONE
    ).update(state=State.PENDING, done_at=None, attempts=F("attempts") - 1)


def owned_by(deliveries: list[Delivery], token: uuid.UUID):
    """The deliveries of this list that the lease ``token`` still holds."""
    return Delivery.objects.filter(
        id__in=[d.pk for d in deliveries], state=State.RUNNING, lease_token=token
    )
