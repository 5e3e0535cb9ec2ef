"""Helpers for moderation tests: books near listeners, and what moderation left."""

from datetime import timedelta

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import F

from books.models import Book
from books.services import PlaceInput, share_book
from notifications.backends import Outcome, PushResult
from notifications.models import Notification
from outbox.models import Delivery, Event
from tests.conftest import run_relay_until_idle
from tests.factories import make_listener, make_user
from tests.notifications import scripted_backend


def share_at(owner=None, title: str = "Dune", latitude=0.0, longitude=0.0) -> Book:
    return share_book(
        owner or make_user(),
        title=title,
        author="Frank Herbert",
        place=PlaceInput(latitude=latitude, longitude=longitude),
    )


def make_moderator(username: str = "moderator", password: str = "correct-horse-42"):
    """A staff user who may see and change books, and nothing else."""
    user = make_user(username, password=password)
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="books",
            codename__in=["view_book", "change_book", "view_report", "change_report"],
        )
    )
    return user


def log_messages(obj) -> list[str]:
    """The admin history of ``obj``: the change messages, oldest first."""
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    )
    return list(entries.order_by("id").values_list("change_message", flat=True))


def events_about(book: Book, topic: str) -> list[dict]:
    rows = Event.objects.filter(topic=topic, key=f"book:{book.pk}").order_by("id")
    return list(rows.values_list("payload", flat=True))


def statuses_of(*books: Book) -> list[str]:
    by_id = dict(
        Book.objects.filter(pk__in=[b.pk for b in books]).values_list("pk", "status")
    )
    return [by_id[book.pk] for book in books]


def notification_statuses(book: Book) -> list[str]:
    rows = Notification.objects.filter(book=book).order_by("id")
    return list(rows.values_list("status", flat=True))


def travel(seconds: float) -> None:
    """Make whatever waits for a retry ``seconds`` closer to due."""
    delta = timedelta(seconds=seconds)
    Notification.objects.filter(status=Notification.Status.PENDING).update(
        next_attempt_at=F("next_attempt_at") - delta
    )
    Delivery.objects.filter(state=Delivery.State.PENDING).update(
        available_at=F("available_at") - delta
    )


def three_books_with_news_pending(scripted) -> list[Book]:
    """Book 1 announced but its pushes waiting for a retry; 2 and 3 not announced.

    The moment of C12: a moderator acts while the outbox still has work to do
    about each book.
    """
    make_listener(0.01, 0, username="reader")
    make_listener(0.02, 0, username="other-reader")
    scripted.answers.update(
        {
            "token-reader": PushResult(Outcome.RETRY, "down", retry_after_s=600),
            "token-other-reader": PushResult(Outcome.RETRY, "down", retry_after_s=600),
        }
    )
    first = share_at(title="First")
    run_relay_until_idle()
    scripted.answers.clear()
    scripted.batches.clear()
    assert notification_statuses(first) == ["pending", "pending"]

    return [first, share_at(title="Second"), share_at(title="Third")]


def script_pushes(settings):
    """Send pushes through the scripted backend; returns it, emptied."""
    settings.NOTIFICATIONS = {
        **settings.NOTIFICATIONS,
        "BACKEND": "tests.notifications.scripted_backend.ScriptedBackend",
    }
    scripted_backend.answers.clear()
    scripted_backend.batches.clear()
    return scripted_backend
