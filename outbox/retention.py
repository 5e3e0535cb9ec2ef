"""Purging finished work in short batches, so the outbox tables stay small."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from outbox.conf import get_settings
from outbox.models import Delivery, Event

logger = logging.getLogger(__name__)

PURGE_BATCH = 1000


def purge_done(older_than: timedelta | None = None, *, dead: bool = False) -> int:
    """Delete done deliveries older than the retention, and dead ones if asked.

    Each batch is its own short transaction, so no lock is held for long and
    relays keep working while a large backlog is purged.
    """
    if older_than is None:
        older_than = timedelta(days=get_settings().retention_days)
    cutoff = timezone.now() - older_than
    states = (
        [Delivery.State.DONE, Delivery.State.DEAD] if dead else [Delivery.State.DONE]
    )
    finished = Delivery.objects.filter(state__in=states, created_at__lt=cutoff)

    purged = purged_events = 0
    while True:
        deliveries, events = purge_batch(finished)
        if not deliveries:
            break
        purged += deliveries
        purged_events += events
    purged_events += purge_orphan_events(cutoff)
    if purged or purged_events:
        logger.info(
            "purged %s deliveries and %s events",
            purged,
            purged_events,
            extra={"purged": purged, "purged_events": purged_events},
        )
    return purged


def purge_batch(finished) -> tuple[int, int]:
    """Delete one batch; return (deliveries, events) deleted."""
    with transaction.atomic():
        rows = list(finished.values_list("id", "event_id")[:PURGE_BATCH])
        if not rows:
            return 0, 0
        Delivery.objects.filter(id__in=[row_id for row_id, _ in rows]).delete()
        event_ids = {event_id for _, event_id in rows}
        orphans = Event.objects.filter(id__in=event_ids, deliveries__isnull=True)
        events, _ = orphans.delete()
    return len(rows), events


def purge_orphan_events(cutoff) -> int:
    """Events that never had a subscriber, or whose deliveries are all gone."""
    purged = 0
    while True:
        with transaction.atomic():
            ids = list(
                Event.objects.filter(
                    created_at__lt=cutoff, deliveries__isnull=True
                ).values_list("id", flat=True)[:PURGE_BATCH]
            )
            if not ids:
                return purged
            Event.objects.filter(id__in=ids).delete()
        purged += len(ids)
