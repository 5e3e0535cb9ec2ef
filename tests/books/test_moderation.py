"""Hiding, restoring and approving books, and resolving reports (C12)."""

import threading

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection, transaction

from books import moderation
from books.models import Book, Report
from books.moderation import (
    ModerationError,
    approve_books,
    hide_books,
    report_book,
    resolve_reports,
    restore_books,
)
from notifications.models import Notification
from outbox.models import Delivery, Event
from tests.books.moderating import (
    events_about,
    log_messages,
    make_moderator,
    notification_statuses,
    script_pushes,
    share_at,
    statuses_of,
    three_books_with_news_pending,
    travel,
)
from tests.books.sharing import post_share, share_data
from tests.conftest import run_relay_until_idle
from tests.factories import make_listener, make_user

pytestmark = pytest.mark.django_db
Status = Book.Status


@pytest.fixture(autouse=True)
def scripted(settings):
    return script_pushes(settings)


@pytest.fixture
def moderator():
    return make_moderator()


def sent_titles(scripted) -> list[str]:
    return sorted(m.title for batch in scripted.batches for m in batch)


@pytest.mark.parametrize("how", ["together", "one by one"])
def test_c12_hiding_books_at_once_does_what_hiding_each_does(scripted, moderator, how):
    books = three_books_with_news_pending(scripted)
    ids = [book.pk for book in books]

    if how == "together":
        hidden = hide_books(ids, moderator, "Spam")
    else:
        hidden = [
            b for book_id in ids for b in hide_books([book_id], moderator, "Spam")
        ]

    assert [book.pk for book in hidden] == ids
    assert statuses_of(*books) == [Status.HIDDEN] * 3
    for book in books:
        assert log_messages(book) == ["Hidden: Spam"]
        payload = {"book_id": book.pk, "reason": "Spam", "moderator_id": moderator.pk}
        assert events_about(book, "book.hidden") == [payload]
    assert LogEntry.objects.filter(user=moderator).count() == 3

    run_relay_until_idle()
    travel(3600)
    run_relay_until_idle()

    assert notification_statuses(books[0]) == ["cancelled", "cancelled"]
    assert Notification.objects.filter(book__in=books[1:]).count() == 0
    assert sent_titles(scripted) == []
    assert set(Delivery.objects.values_list("state", flat=True)) == {"done"}


def test_c12_a_failure_on_one_book_changes_none(monkeypatch, moderator):
    books = [share_at(title=title) for title in ("A", "B", "C")]
    Report.objects.create(book=books[0], reporter=make_user(), reason="spam")
    events_before = Event.objects.count()
    real_publish = moderation.publish

    def publish_then_fail_on_the_third(topic, payload, **kwargs):
        if payload["book_id"] == books[2].pk:
            raise RuntimeError("the database went away")
        return real_publish(topic, payload, **kwargs)

    monkeypatch.setattr(moderation, "publish", publish_then_fail_on_the_third)
    with pytest.raises(RuntimeError):
        hide_books([book.pk for book in books], moderator, "Spam")

    assert statuses_of(*books) == [Status.AVAILABLE] * 3
    assert LogEntry.objects.count() == 0
    assert Event.objects.count() == events_before
    assert Report.objects.get().resolved_at is None


def test_an_unknown_book_id_changes_nothing(moderator):
    book = share_at()

    with pytest.raises(ModerationError, match="No book with id 999999"):
        hide_books([book.pk, 999999], moderator, "Spam")

    assert statuses_of(book) == [Status.AVAILABLE]
    assert LogEntry.objects.count() == 0


@pytest.mark.parametrize("reason", ["", "   "])
def test_hiding_needs_a_reason(moderator, reason):
    book = share_at()

    with pytest.raises(ModerationError, match="Give a reason"):
        hide_books([book.pk], moderator, reason)

    assert statuses_of(book) == [Status.AVAILABLE]


def test_books_not_shown_are_left_as_they_are(moderator):
    shown, withdrawn, hidden = share_at(), share_at(), share_at()
    Book.objects.filter(pk=withdrawn.pk).update(status=Status.WITHDRAWN)
    hide_books([hidden.pk], moderator, "Spam")

    changed = hide_books([shown.pk, withdrawn.pk, hidden.pk], moderator, "Again")

    assert changed == [shown]
    assert statuses_of(shown, withdrawn, hidden) == [
        Status.HIDDEN,
        Status.WITHDRAWN,
        Status.HIDDEN,
    ]
    assert log_messages(hidden) == ["Hidden: Spam"]
    assert log_messages(withdrawn) == []


def test_hiding_works_inside_a_callers_transaction_only_if_it_commits(moderator):
    book = share_at()

    with pytest.raises(RuntimeError), transaction.atomic():
        hide_books([book.pk], moderator, "Spam")
        raise RuntimeError("the caller fails after hiding")

    assert statuses_of(book) == [Status.AVAILABLE]
    assert events_about(book, "book.hidden") == []


def test_hiding_resolves_the_books_open_reports(moderator):
    book, other = share_at(), share_at()
    report = report_book(book.pk, make_user(), "offensive cover")
    untouched = report_book(other.pk, make_user(), "spam")

    hide_books([book.pk], moderator, "Offensive")

    report.refresh_from_db()
    assert (report.resolved_by, report.resolution) == (moderator, "Hidden: Offensive")
    assert report.resolved_at is not None
    assert log_messages(report) == ["Resolved: Hidden: Offensive"]
    untouched.refresh_from_db()
    assert untouched.resolved_at is None


def test_restoring_shows_a_hidden_book_without_announcing_it_again(scripted, moderator):
    make_listener(0.01, 0, username="reader")
    book = share_at()
    run_relay_until_idle()
    hide_books([book.pk], moderator, "Looked like spam")
    run_relay_until_idle()
    scripted.batches.clear()

    restored = restore_books([book.pk], moderator, "It was not spam")
    run_relay_until_idle()

    assert restored == [book]
    assert statuses_of(book) == [Status.AVAILABLE]
    assert log_messages(book) == [
        "Hidden: Looked like spam",
        "Restored: It was not spam",
    ]
    payload = {
        "book_id": book.pk,
        "reason": "It was not spam",
        "moderator_id": moderator.pk,
    }
    assert events_about(book, "book.restored") == [payload]
    assert notification_statuses(book) == ["sent"]
    assert scripted.batches == []


def test_restoring_changes_only_hidden_books(moderator):
    shown, withdrawn = share_at(), share_at()
    Book.objects.filter(pk=withdrawn.pk).update(status=Status.WITHDRAWN)

    assert restore_books([shown.pk, withdrawn.pk], moderator, "Why not") == []

    assert statuses_of(shown, withdrawn) == [Status.AVAILABLE, Status.WITHDRAWN]
    assert LogEntry.objects.count() == 0
    assert Event.objects.filter(topic="book.restored").count() == 0


def test_a_user_reports_a_book_once():
    book = share_at()
    reporter = make_user()
    report_book(book.pk, reporter, "  spam  ")

    with pytest.raises(moderation.AlreadyReported):
        report_book(book.pk, reporter, "still spam")

    report_book(book.pk, make_user(), "spam too")
    assert list(Report.objects.order_by("id").values_list("reason", flat=True)) == [
        "spam",
        "spam too",
    ]


@pytest.mark.parametrize(
    "status", [Status.HIDDEN, Status.WITHDRAWN, Status.PENDING_REVIEW]
)
def test_only_shown_books_can_be_reported(status):
    book = share_at()
    Book.objects.filter(pk=book.pk).update(status=status)

    with pytest.raises(Book.DoesNotExist):
        report_book(book.pk, make_user(), "spam")


def test_resolving_reports_closes_open_ones_and_logs_each(moderator):
    book = share_at()
    first = report_book(book.pk, make_user(), "spam")
    second = report_book(book.pk, make_user(), "spam")
    resolve_reports([first.pk], moderator, "Not spam")

    resolved = resolve_reports([first.pk, second.pk], moderator, "Checked: fine")

    assert resolved == [second]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.resolution, second.resolution) == ("Not spam", "Checked: fine")
    assert log_messages(first) == ["Resolved: Not spam"]
    assert log_messages(second) == ["Resolved: Checked: fine"]
    assert statuses_of(book) == [Status.AVAILABLE]


@pytest.fixture
def approval_required(settings):
    settings.BOOKS = {**settings.BOOKS, "REQUIRE_APPROVAL": True}


@pytest.mark.usefixtures("approval_required")
def test_with_approval_a_book_is_announced_when_approved(scripted, moderator):
    make_listener(0.01, 0, username="reader")
    book = share_at()
    run_relay_until_idle()

    assert statuses_of(book) == [Status.PENDING_REVIEW]
    assert events_about(book, "book.shared") == []
    assert Notification.objects.count() == 0

    approved = approve_books([book.pk], moderator)
    run_relay_until_idle()

    assert approved == [book]
    assert statuses_of(book) == [Status.AVAILABLE]
    assert log_messages(book) == ["Approved"]
    assert events_about(book, "book.shared") == [{"book_id": book.pk}]
    assert notification_statuses(book) == ["sent"]
    assert sent_titles(scripted) == ["New book near you: Dune"]


@pytest.mark.usefixtures("approval_required")
def test_with_approval_a_rejected_book_is_never_announced(scripted, moderator):
    make_listener(0.01, 0, username="reader")
    book = share_at()

    hide_books([book.pk], moderator, "Not a book")
    approve_books([book.pk], moderator)
    run_relay_until_idle()

    assert statuses_of(book) == [Status.HIDDEN]
    assert events_about(book, "book.shared") == []
    assert Notification.objects.count() == 0


def test_approving_leaves_books_that_are_not_waiting(moderator):
    book = share_at()

    assert approve_books([book.pk], moderator) == []
    assert events_about(book, "book.shared") == [{"book_id": book.pk}]
    assert LogEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_moderators_hiding_the_same_books_at_once_hide_each_once():
    books = [share_at(title=title) for title in ("A", "B", "C")]
    moderators = [make_moderator("first"), make_moderator("second")]
    ids = [book.pk for book in books]
    start = threading.Barrier(2)
    hidden: dict[str, list[int]] = {}

    def hide_as(moderator, order):
        try:
            start.wait()
            done = hide_books(order, moderator, f"Spam, says {moderator}")
            hidden[moderator.username] = [book.pk for book in done]
        finally:
            connection.close()

    threads = [
        threading.Thread(target=hide_as, args=(moderators[0], ids)),
        threading.Thread(target=hide_as, args=(moderators[1], ids[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # The row locks make one of them wait; it then finds the books hidden.
    assert sorted(hidden.values()) == [[], ids]
    assert statuses_of(*books) == [Status.HIDDEN] * 3
    assert LogEntry.objects.count() == 3
    assert Event.objects.filter(topic="book.hidden").count() == 3


@pytest.mark.usefixtures("approval_required")
def test_with_approval_the_api_shows_a_new_book_to_its_owner_only(
    client, anonymous_client
):
    response = post_share(client, share_data(title="Waiting"))

    assert response.status_code == 201
    assert response.json()["status"] == "pending_review"
    book_id = response.json()["id"]
    assert client.get(f"/api/books/{book_id}/").status_code == 200
    assert anonymous_client.get(f"/api/books/{book_id}/").status_code == 404
    assert anonymous_client.get("/api/books/").json()["results"] == []
    assert Event.objects.filter(topic="book.shared").count() == 0
