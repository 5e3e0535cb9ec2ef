"""Moderation: hiding, restoring and approving books, and the reports about them.

Every function here is one transaction. It locks the books it changes, writes
an admin log entry for each and publishes one event per book in that same
transaction, so acting on many books has exactly the effects of acting on
each in turn. Who listens to the events is not this module's business.
"""

import logging
from collections.abc import Iterable

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import IntegrityError, transaction
from django.utils import timezone

from books.models import Book, Report
from books.services import BOOK_SHARED
from outbox.publisher import publish

logger = logging.getLogger(__name__)

BOOK_HIDDEN = "book.hidden"
BOOK_RESTORED = "book.restored"

Status = Book.Status

# What each action may change: a book in any other state is left as it is.
HIDEABLE = [Status.AVAILABLE, Status.PENDING_REVIEW]
RESTORABLE = [Status.HIDDEN]
APPROVABLE = [Status.PENDING_REVIEW]


class ModerationError(Exception):
    """A moderation request that cannot be carried out as asked."""


class AlreadyReported(ModerationError):
    """The user has reported this book before."""


def hide_books(book_ids: Iterable[int], moderator, reason: str) -> list[Book]:
    """Hide the books that are shown or waiting for review; return those hidden.

    Their open reports are resolved with the reason. Listeners of
    ``book.hidden`` cancel what was still to be sent about them.
    """
    reason = check_reason(reason)
    with transaction.atomic():
        books = change_status(book_ids, HIDEABLE, Status.HIDDEN)
        log_changes(moderator, books, f"Hidden: {reason}")
        close_reports([book.pk for book in books], moderator, f"Hidden: {reason}")
        publish_each(BOOK_HIDDEN, books, reason=reason, moderator_id=moderator.pk)
    log_outcome("hidden", books, moderator)
    return books


def restore_books(book_ids: Iterable[int], moderator, reason: str) -> list[Book]:
    """Show hidden books again; return those restored.

    A restored book is not announced a second time: the people near it were
    told (or chose not to be) when it was first shared.
    """
    reason = check_reason(reason)
    with transaction.atomic():
        books = change_status(book_ids, RESTORABLE, Status.AVAILABLE)
        log_changes(moderator, books, f"Restored: {reason}")
        publish_each(BOOK_RESTORED, books, reason=reason, moderator_id=moderator.pk)
    log_outcome("restored", books, moderator)
    return books


def approve_books(book_ids: Iterable[int], moderator) -> list[Book]:
    """Show books waiting for review, and announce them as shared now."""
    with transaction.atomic():
        books = change_status(book_ids, APPROVABLE, Status.AVAILABLE)
        log_changes(moderator, books, "Approved")
        publish_each(BOOK_SHARED, books)
    log_outcome("approved", books, moderator)
    return books


def check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ModerationError("Give a reason: the owner and other moderators see it.")
    return reason


def change_status(
    book_ids: Iterable[int], allowed: list[str], status: str
) -> list[Book]:
    """Lock the books, and move those in an ``allowed`` state to ``status``.

    Raises ModerationError, before anything changes, if a book does not
    exist. The caller holds the transaction.
    """
    wanted = sorted(set(book_ids))
    # In id order, so that two moderators acting at once take the locks in
    # the same order and cannot deadlock.
    books = list(Book.objects.select_for_update().filter(pk__in=wanted).order_by("pk"))
    missing = sorted(set(wanted) - {book.pk for book in books})
    if missing:
        raise ModerationError(f"No book with id {', '.join(map(str, missing))}.")

    changing = [book for book in books if book.status in allowed]
    Book.objects.filter(pk__in=[book.pk for book in changing]).update(status=status)
    for book in changing:
        book.status = status
    return changing


def log_changes(moderator, objects: list, message: str) -> None:
    """One admin log entry per object, shown in its history in the admin."""
    if objects:
        LogEntry.objects.log_actions(moderator.pk, objects, CHANGE, message)


def publish_each(topic: str, books: list[Book], **details) -> None:
    for book in books:
        publish(topic, {"book_id": book.pk, **details}, key=f"book:{book.pk}")


def log_outcome(verb: str, books: list[Book], moderator) -> None:
    if not books:
        return
    ids = [book.pk for book in books]
    logger.info(
        "%s books %s by %s",
        verb,
        ids,
        moderator,
        extra={"book_ids": ids, "moderator_id": moderator.pk, "action": verb},
    )


def report_book(book_id: int, reporter, reason: str) -> Report:
    """Record that ``reporter`` finds a shown book objectionable.

    Raises Book.DoesNotExist for a book the reporter cannot see, and
    AlreadyReported for a second report of the same book by the same user.
    """
    with transaction.atomic():
        book = Book.objects.get(pk=book_id, status=Status.AVAILABLE)
        try:
            # Its own savepoint, so the outer transaction survives a refusal.
            with transaction.atomic():
                report = Report.objects.create(
                    book=book, reporter=reporter, reason=reason.strip()
                )
        except IntegrityError:
            raise AlreadyReported(f"{reporter} has reported book {book_id}.") from None
    logger.info(
        "book %s reported by %s",
        book_id,
        reporter,
        extra={"book_id": book_id, "report_id": report.pk},
    )
    return report


def resolve_reports(
    report_ids: Iterable[int], moderator, resolution: str
) -> list[Report]:
    """Close the open reports among ``report_ids``; return those closed."""
    resolution = check_reason(resolution)
    with transaction.atomic():
        reports = list(
            Report.objects.select_for_update()
            .filter(pk__in=set(report_ids), resolved_at=None)
            .order_by("pk")
        )
        close(reports, moderator, resolution)
    return reports


def close_reports(book_ids: list[int], moderator, resolution: str) -> None:
    """Close the open reports of the given books; the caller holds the transaction."""
    reports = list(
        Report.objects.select_for_update()
        .filter(book_id__in=book_ids, resolved_at=None)
        .order_by("pk")
    )
    close(reports, moderator, resolution)


def close(reports: list[Report], moderator, resolution: str) -> None:
    now = timezone.now()
    resolution = resolution[: Report._meta.get_field("resolution").max_length]
    Report.objects.filter(pk__in=[report.pk for report in reports]).update(
        resolved_at=now, resolved_by=moderator, resolution=resolution
    )
    for report in reports:
        report.resolved_at, report.resolved_by, report.resolution = (
            now,
            moderator,
            resolution,
        )
    log_changes(moderator, reports, f"Resolved: {resolution}")
