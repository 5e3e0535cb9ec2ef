from books.moderation import BOOK_HIDDEN
from books.services import BOOK_SHARED, BOOK_WITHDRAWN
from notifications.services import (
    NOTIFICATIONS_STORED,
    announce_book,
    cancel_book_notifications,
    send_book_notifications,
)
from outbox.models import Event
from outbox.registry import subscriber


@subscriber(BOOK_SHARED, name="notifications.announce")
def announce_shared_book(event: Event) -> None:
    announce_book(event)


# Sending calls the provider, which must not happen inside a transaction; the
# notifications' own states make a repeated call send nothing twice.
@subscriber(NOTIFICATIONS_STORED, name="notifications.send", atomic=False)
def send_stored_notifications(event: Event) -> None:
    send_book_notifications(
        event.payload["book_id"], round_number=event.payload.get("round", 1)
    )


@subscriber(BOOK_HIDDEN, name="notifications.cancel")
def cancel_hidden_book_notifications(event: Event) -> None:
    cancel_book_notifications(event.payload["book_id"])


@subscriber(BOOK_WITHDRAWN, name="notifications.cancel_withdrawn")
def cancel_withdrawn_book_notifications(event: Event) -> None:
    cancel_book_notifications(event.payload["book_id"])
