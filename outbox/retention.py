"""Purging finished work so the outbox tables stay small."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from outbox.conf import get_settings
from outbox.models import Delivery, Event

logger = logging.getLogger(__name__)

PURGE_BATCH = 1000


def purge_done(older_than: timedelta | None = None) -> int:
    """Delete done deliveries, and events left with none, in short batches."""
    if older_than is None:
        older_than = timedelta(days=get_settings().retention_days)
    cutoff = timezone.now() - older_than
    purged = 0
    while True:
        with transaction.atomic():
            ids = list(
                Delivery.objects.filter(
                    state=Delivery.State.DONE, done_at__lt=cutoff
                ).values_list("id", flat=True)[:PURGE_BATCH]
            )
            if not ids:
                break
            event_ids = set(
                Delivery.objects.filter(id__in=ids).values_list("event_id", flat=True)
            )
            Delivery.objects.filter(id__in=ids).delete()
            Event.objects.filter(id__in=event_ids, deliveries__isnull=True).delete()
        purged += len(ids)
    if purged:
        logger.info("purged %s done deliveries", purged, extra={"purged": purged})
    return purged
