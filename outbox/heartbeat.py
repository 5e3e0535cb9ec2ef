"""Keeping a lease alive while a long handler runs outside a transaction."""

import logging
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from outbox.models import Delivery

logger = logging.getLogger(__name__)


@contextmanager
def keep_leased(deliveries: list[Delivery], token: uuid.UUID, lease_s: float):
    """Extend the leases of a claim every third of their length until the block ends.

    So a claim waiting behind a slow handler is not taken over by another
    relay. A relay that dies stops beating, and its leases run out.
    """
    ids = [delivery.pk for delivery in deliveries]
    stop = threading.Event()
    beat = threading.Thread(
        target=beat_until,
        args=(stop, ids, token, lease_s),
        name=f"lease-{token}",
        daemon=True,
    )
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()


def beat_until(stop: threading.Event, ids: list[int], token, lease_s: float) -> None:
    try:
        while not stop.wait(lease_s / 3):
            extend(ids, token, lease_s)
    finally:
        connection.close()


def extend(ids: list[int], token: uuid.UUID, lease_s: float) -> None:
    # Rows under this relay's own open batch transaction are skipped: their
    # lock already keeps other relays away, and waiting for it would let the
    # other leases run out meanwhile.
    try:
        with transaction.atomic():
            held = list(
                Delivery.objects.filter(
                    pk__in=ids, state=Delivery.State.RUNNING, lease_token=token
                )
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)
            )
            Delivery.objects.filter(pk__in=held).update(
                leased_until=timezone.now() + timedelta(seconds=lease_s)
            )
    except DatabaseError:
        logger.warning(
            "could not extend the leases of claim %s",
            token,
            exc_info=True,
            extra={"lease_token": str(token)},
        )
