"""Choosing who hears about a book, storing their notifications, sending them."""

import logging
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from books.models import Book
from notifications.backends import Outcome, PushMessage, PushResult, get_backend
from notifications.models import Device, Notification, NotificationPreference
from outbox.exceptions import RetryLater
from outbox.models import Event
from outbox.publisher import publish
from places.geo import bounding_box, measure_m

logger = logging.getLogger(__name__)

NOTIFICATIONS_STORED = "notifications.stored"
CHUNK = 2000
SEND_LEASE_S = 120
RETRY_DELAY_S = 30

Status = Notification.Status


def get_max_radius_km() -> float:
    """Users hear about books at most as far away as distances are stored."""
    return float(settings.PLACES["DISTANCE_RADIUS_KM"])


def find_interested_users(book: Book) -> Iterator[int]:
    """Yield users whose own radius around their location holds the book's place."""
    place = book.place
    box = bounding_box(place.latitude, place.longitude, get_max_radius_km() * 1000)
    candidates = (
        NotificationPreference.objects.filter(box.as_q(), enabled=True)
        .exclude(user_id=book.owner_id)
        .values_list("user_id", "latitude", "longitude", "radius_km")
    )
    for user_id, lat, lon, radius_km in candidates.iterator(chunk_size=CHUNK):
        if measure_m(lat, lon, place.latitude, place.longitude) <= radius_km * 1000:
            yield user_id


def store_notifications(book: Book, event: Event) -> int:
    """Store one pending notification per active device of each interested user.

    Idempotent: a (book, device) pair already stored is skipped, so a retried
    fan-out stores nothing twice.
    """
    now = timezone.now()
    title = f"New book near you: {book.title}"[:200]
    body = f"{book.title} by {book.author}"
    stored = 0
    for users in chunked(find_interested_users(book), CHUNK):
        # Devices told already (a retried fan-out) are left out, so the count
        # is of new rows; the unique constraint still guards against a race.
        devices = (
            Device.objects.filter(user_id__in=users, active=True)
            .exclude(notifications__book=book)
            .values_list("id", "user_id")
        )
        rows = [
            Notification(
                recipient_id=user_id,
                device_id=device_id,
                book=book,
                event_id=event.pk,
                title=title,
                body=body,
                next_attempt_at=now,
            )
            for device_id, user_id in devices
        ]
        Notification.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        stored += len(rows)
    return stored


def announce_book(event: Event) -> None:
    """Fan a shared book out to notifications, and queue them for sending."""
    book = (
        Book.objects.select_related("place")
        .filter(pk=event.payload["book_id"], status=Book.Status.AVAILABLE)
        .first()
    )
    if book is None:
        return
    stored = store_notifications(book, event)
    logger.info(
        "stored %s notifications for book %s",
        stored,
        book.pk,
        extra={"event_id": event.pk, "book_id": book.pk, "stored": stored},
    )
    if stored:
        publish(NOTIFICATIONS_STORED, {"book_id": book.pk}, key=f"book:{book.pk}")


def claim_notifications(book_id: int, limit: int) -> list[Notification]:
    """Lease due notifications of a book; committed before anything is sent."""
    now = timezone.now()
    due = Notification.objects.filter(
        book_id=book_id, status=Status.PENDING, next_attempt_at__lte=now
    )
    stale = Notification.objects.filter(
        book_id=book_id, status=Status.SENDING, leased_until__lt=now
    )
    with transaction.atomic():
        ids = list(
            (due | stale)
            .order_by("id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        Notification.objects.filter(id__in=ids).update(
            status=Status.SENDING,
            leased_until=now + timedelta(seconds=SEND_LEASE_S),
        )
    return list(
        Notification.objects.filter(id__in=ids).select_related("device").order_by("id")
    )


def send_book_notifications(book_id: int) -> int:
    """Send every due notification of a book, batch by batch.

    Raises RetryLater when some could not be sent yet, so the outbox calls
    again when the earliest of them is due.
    """
    backend = get_backend()
    limit = min(settings.NOTIFICATIONS["BATCH_SIZE"], backend.max_batch)
    sent = 0
    while batch := claim_notifications(book_id, limit):
        results = backend.send([to_message(n) for n in batch])
        sent += record_results(batch, results)

    waiting = Notification.objects.filter(book_id=book_id, status=Status.PENDING)
    next_due = (
        waiting.order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if next_due is not None:
        delay = (next_due - timezone.now()).total_seconds()
        raise RetryLater(f"notifications of book {book_id} wait for a retry", delay)
    return sent


def to_message(notification: Notification) -> PushMessage:
    return PushMessage(
        notification_id=notification.pk,
        platform=notification.device.platform,
        token=notification.device.token,
        title=notification.title,
        body=notification.body,
        data={"book_id": str(notification.book_id)},
    )


def record_results(batch: list[Notification], results: list[PushResult]) -> int:
    """Store what the provider said of each notification; return how many went."""
    now = timezone.now()
    sent = 0
    with transaction.atomic():
        for notification, result in zip(batch, results, strict=True):
            record_result(notification, result, now)
            sent += result.outcome == Outcome.SENT
    return sent


def record_result(notification: Notification, result: PushResult, now) -> None:
    mine = Notification.objects.filter(pk=notification.pk, status=Status.SENDING)
    attempts = notification.attempts + 1
    if result.outcome == Outcome.SENT:
        mine.update(
            status=Status.SENT, sent_at=now, attempts=attempts, leased_until=None
        )
    elif result.outcome == Outcome.RETRY:
        delay = result.retry_after_s or RETRY_DELAY_S * 2 ** min(attempts - 1, 6)
        mine.update(
            status=Status.PENDING,
            attempts=attempts,
            next_attempt_at=now + timedelta(seconds=delay),
            leased_until=None,
            last_error=result.reason,
        )
    else:
        mine.update(
            status=Status.FAILED,
            attempts=attempts,
            leased_until=None,
            last_error=result.reason,
        )
        if result.outcome == Outcome.UNREGISTERED:
            Device.objects.filter(pk=notification.device_id).update(
                active=False, deactivated_reason=result.reason[:200]
            )
    log_result(notification, result)


def log_result(notification: Notification, result: PushResult) -> None:
    level = logging.INFO if result.outcome == Outcome.SENT else logging.WARNING
    logger.log(
        level,
        "notification %s: %s %s",
        notification.pk,
        result.outcome,
        result.reason,
        extra={
            "notification_id": notification.pk,
            "event_id": notification.event_id,
            "outcome": str(result.outcome),
        },
    )


def chunked(items: Iterator[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def register_device(user, platform: str, token: str) -> Device:
    """Register a push token for ``user``; a token seen before moves to them."""
    with transaction.atomic():
        device, _ = Device.objects.update_or_create(
            token=token,
            defaults={
                "user": user,
                "platform": platform,
                "active": True,
                "deactivated_reason": "",
            },
        )
    return device


def update_preference(user, **changes) -> NotificationPreference:
    with transaction.atomic():
        preference, _ = (
            NotificationPreference.objects.select_for_update().get_or_create(user=user)
        )
        for name, value in changes.items():
            setattr(preference, name, value)
        preference.save()
    return preference
