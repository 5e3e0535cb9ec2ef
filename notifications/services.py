"""Announcing books, sending and cancelling notifications, devices and the inbox."""

import logging
import time

from django.db import transaction
from django.db.models import Min, QuerySet
from django.utils import timezone

from books.models import Book
from notifications.backends import get_backend
from notifications.conf import get_settings
from notifications.delivery import claim_notifications, next_wake_up, send_batch
from notifications.fanout import get_max_radius_km, store_notifications
from notifications.models import Device, Notification, NotificationPreference
from outbox.exceptions import RetryLater
from outbox.models import Event
from outbox.publisher import publish

logger = logging.getLogger(__name__)

NOTIFICATIONS_STORED = "notifications.stored"

Status = Notification.Status

__all__ = [
    "NOTIFICATIONS_STORED",
    "announce_book",
    "cancel_book_notifications",
    "get_max_radius_km",
    "inbox_of",
    "mark_all_read",
    "mark_read",
    "register_device",
    "remove_device",
    "send_again",
    "send_book_notifications",
    "update_preference",
]


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


def send_book_notifications(book_id: int, round_number: int = 1) -> int:
    """Send a book's due notifications for up to the send budget; return how many.

    Raises RetryLater when none is due yet, to be called again when the first
    is. What is left at the end of a round (waiting for a retry, or beyond the
    budget) is handed to a new ``notifications.stored`` event rather than to a
    RetryLater on this one: the outbox counts each RetryLater as an attempt,
    so a long outage would make this delivery dead while notifications wait.
    """
    if not is_shown(book_id):
        cancel_book_notifications(book_id)
        return 0
    wake_up = next_wake_up(book_id)
    if wake_up is None:
        return 0
    wait_s = (wake_up - timezone.now()).total_seconds()
    if wait_s > 0:
        raise RetryLater(f"notifications of book {book_id} wait for a retry", wait_s)

    sent = send_round(book_id)
    schedule_next_round(book_id, round_number + 1)
    return sent


def send_round(book_id: int) -> int:
    """Send batch after batch until none is due or the send budget is spent."""
    conf = get_settings()
    backend = get_backend()
    limit = min(conf.batch_size, backend.max_batch)
    deadline = time.monotonic() + conf.send_budget_s
    sent = 0
    while time.monotonic() < deadline:
        # Checked before each batch, so a book hidden meanwhile stops here.
        if not is_shown(book_id):
            cancel_book_notifications(book_id)
            break
        lease, batch = claim_notifications(book_id, limit, conf.lease_s)
        if not batch:
            break
        sent += send_batch(batch, lease, backend, conf)
    return sent


def is_shown(book_id: int) -> bool:
    return Book.objects.filter(pk=book_id, status=Book.Status.AVAILABLE).exists()


def schedule_next_round(book_id: int, round_number: int) -> None:
    wake_up = next_wake_up(book_id)
    if wake_up is None:
        return
    payload = {"book_id": book_id, "round": round_number}
    with transaction.atomic():
        publish(NOTIFICATIONS_STORED, payload, key=f"book:{book_id}")
    logger.info(
        "book %s: round %s of its notifications from %s",
        book_id,
        round_number,
        wake_up.isoformat(),
        extra={"book_id": book_id, "round": round_number},
    )


def cancel_book_notifications(book_id: int) -> int:
    """Cancel a book's notifications not sent yet; return how many.

    Those in the hands of a sender right now may still go: a sender checks
    the book before each batch, so at most one batch slips through.
    """
    now = timezone.now()
    unsent = Notification.objects.filter(book_id=book_id).filter(
        status__in=[Status.PENDING, Status.SENDING]
    )
    cancelled = unsent.exclude(status=Status.SENDING, leased_until__gte=now).update(
        status=Status.CANCELLED,
        leased_until=None,
        last_error="The book is no longer available.",
    )
    if cancelled:
        logger.info(
            "cancelled %s notifications of book %s",
            cancelled,
            book_id,
            extra={"book_id": book_id, "cancelled": cancelled},
        )
    return cancelled


def send_again(notifications: QuerySet[Notification]) -> int:
    """Put failed or cancelled notifications back in line; return how many.

    Sent ones are left alone: a sent notification is never sent again. The
    sender still checks the book and the device before each batch.
    """
    with transaction.atomic():
        again = notifications.filter(status__in=[Status.FAILED, Status.CANCELLED])
        books = set(again.values_list("book_id", flat=True))
        count = again.update(
            status=Status.PENDING, next_attempt_at=timezone.now(), last_error=""
        )
        for book_id in sorted(books):
            publish(NOTIFICATIONS_STORED, {"book_id": book_id}, key=f"book:{book_id}")
    return count


def register_device(
    user, platform: str, token: str, keys: dict | None = None
) -> Device:
    """Register a push token for ``user``; a token seen before moves to them.

    What was waiting to go to the token for its previous owner is cancelled:
    it is their news, not the new owner's.
    """
    with transaction.atomic():
        previous = Device.objects.select_for_update().filter(token=token).first()
        if previous is not None and previous.user_id != user.pk:
            withdraw_device(previous, "The device was registered by another user.")
        device, _ = Device.objects.update_or_create(
            token=token,
            defaults={
                "user": user,
                "platform": platform,
                "keys": keys or {},
                "active": True,
                "deactivated_reason": "",
            },
        )
    return device


def remove_device(device: Device) -> None:
    """Delete a device; its notifications stay in the inbox and are never sent."""
    with transaction.atomic():
        withdraw_device(device, "The device was removed.")
        device.delete()


def withdraw_device(device: Device, reason: str) -> None:
    Notification.objects.filter(device=device, status=Status.PENDING).update(
        status=Status.CANCELLED, last_error=reason
    )


def update_preference(user, **changes) -> NotificationPreference:
    with transaction.atomic():
        preference, _ = (
            NotificationPreference.objects.select_for_update().get_or_create(user=user)
        )
        for name, value in changes.items():
            setattr(preference, name, value)
        preference.save()
    return preference


def inbox_of(user) -> QuerySet[Notification]:
    """One entry per book ``user`` was told about and that is still shown.

    A user with several devices has one notification per device and book;
    the inbox shows the first of them.
    """
    firsts = (
        Notification.objects.filter(recipient=user)
        .values("book_id")
        .annotate(first=Min("id"))
        .values("first")
    )
    return (
        Notification.objects.filter(pk__in=firsts, book__status=Book.Status.AVAILABLE)
        .select_related("book")
        .order_by("-created_at", "-id")
    )


def mark_read(user, notification: Notification) -> Notification:
    """Mark an inbox entry read, on all of the user's devices."""
    Notification.objects.filter(
        recipient=user, book_id=notification.book_id, read_at__isnull=True
    ).update(read_at=timezone.now())
    notification.refresh_from_db(fields=["read_at"])
    return notification


def mark_all_read(user) -> int:
    """Mark the whole inbox read; return how many entries were unread."""
    unread = inbox_of(user).filter(read_at__isnull=True).count()
    Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return unread
