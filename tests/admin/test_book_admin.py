"""Moderating books in the admin: the list, the actions, reports (no browser)."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from books import admin as book_admin
from books.models import Book, Report
from books.moderation import hide_books, report_book
from outbox.models import Event
from sharebook import admin_tables
from tests.books.moderating import (
    events_about,
    log_messages,
    make_moderator,
    share_at,
    statuses_of,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db
BOOKS = "/admin/books/book/"


@pytest.fixture
def moderator():
    return make_moderator()


@pytest.fixture
def staff(moderator):
    client = Client()
    client.force_login(moderator)
    return client


def act(staff, action: str, books, **data):
    return staff.post(
        BOOKS,
        {"action": action, "_selected_action": [b.pk for b in books], **data},
    )


def test_the_list_shows_status_owner_place_and_open_reports(staff):
    book = share_at(make_user("ada"), title="Dune")
    report_book(book.pk, make_user(), "spam")
    report_book(book.pk, make_user(), "spam")
    resolved = report_book(book.pk, make_user(), "spam")
    Report.objects.filter(pk=resolved.pk).update(resolved_at=book.created_at)

    page = staff.get(BOOKS).content.decode()

    assert '<td class="field-status">Available</td>' in page
    assert '<td class="field-owner nowrap">ada</td>' in page
    assert '<td class="field-place nowrap">0.0, 0.0</td>' in page
    assert '<td class="field-open_reports">2</td>' in page


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_for_3_books_or_30(staff):
    for n in range(3):
        report_book(share_at(title=f"Book {n}").pk, make_user(), "spam")
    few = count_queries(staff, BOOKS)

    for n in range(27):
        report_book(share_at(title=f"More {n}").pk, make_user(), "spam")

    assert count_queries(staff, BOOKS) == few


def test_filters_find_books_with_open_reports_and_by_status(staff, moderator):
    reported, _, hidden = (
        share_at(title="Reported"),
        share_at(title="Quiet"),
        share_at(title="Gone"),
    )
    report_book(reported.pk, make_user(), "spam")
    hide_books([hidden.pk], moderator, "Spam")

    with_reports = staff.get(f"{BOOKS}?reported=yes").content.decode()
    shown_hidden = staff.get(f"{BOOKS}?status__exact=hidden").content.decode()
    found = staff.get(f"{BOOKS}?q=quiet").content.decode()

    assert ">Reported<" in with_reports and ">Quiet<" not in with_reports
    assert ">Gone<" in shown_hidden and ">Reported<" not in shown_hidden
    assert ">Quiet<" in found and ">Reported<" not in found


def test_hiding_asks_for_a_reason_first(staff):
    books = [share_at(title="Spam one"), share_at(title="Spam two")]

    page = act(staff, "hide_books", books)

    assert page.status_code == 200
    assert "Hide these 2 books?" in page.content.decode()
    assert 'name="reason"' in page.content.decode()
    assert statuses_of(*books) == ["available", "available"]


def test_hiding_without_a_reason_asks_again(staff):
    book = share_at()

    page = act(staff, "hide_books", [book], confirm="yes", reason="  ")

    assert page.status_code == 200
    assert "This field is required." in page.content.decode()
    assert statuses_of(book) == ["available"]


def test_hiding_with_a_reason_hides_through_the_service(staff, moderator):
    books = [share_at(title="Spam one"), share_at(title="Spam two")]
    kept = share_at(title="Fine")

    response = act(staff, "hide_books", books, confirm="yes", reason="Spam")

    assert response.status_code == 302
    assert statuses_of(*books, kept) == ["hidden", "hidden", "available"]
    for book in books:
        assert log_messages(book) == ["Hidden: Spam"]
        assert len(events_about(book, "book.hidden")) == 1
    page = staff.get(response.url).content.decode()
    assert "2 books hidden." in page


def test_books_that_cannot_be_hidden_are_counted_apart(staff, moderator):
    shown, hidden = share_at(), share_at()
    hide_books([hidden.pk], moderator, "Spam")

    response = act(staff, "hide_books", [shown, hidden], confirm="yes", reason="Spam")

    page = staff.get(response.url).content.decode()
    assert "1 books hidden. 1 left as they were: they cannot be hidden." in page


def test_restoring_asks_for_a_reason_and_restores(staff, moderator):
    book = share_at()
    hide_books([book.pk], moderator, "Spam")

    assert (
        "Restore these 1 books?" in act(staff, "restore_books", [book]).content.decode()
    )
    act(staff, "restore_books", [book], confirm="yes", reason="Not spam")

    assert statuses_of(book) == ["available"]
    assert log_messages(book) == ["Hidden: Spam", "Restored: Not spam"]


def test_approving_announces_books_waiting_for_review(staff, settings):
    settings.BOOKS = {**settings.BOOKS, "REQUIRE_APPROVAL": True}
    waiting, other = share_at(), share_at()

    act(staff, "approve_books", [waiting])

    assert statuses_of(waiting, other) == ["available", "pending_review"]
    assert events_about(waiting, "book.shared") == [{"book_id": waiting.pk}]
    assert events_about(other, "book.shared") == []


def test_a_selection_too_large_is_refused(staff, monkeypatch):
    monkeypatch.setattr(book_admin, "MOST_AT_ONCE", 2)
    books = [share_at() for _ in range(3)]

    response = act(staff, "hide_books", books, confirm="yes", reason="Spam")

    assert response.status_code == 302
    assert "Select at most 2 books at once." in staff.get(response.url).content.decode()
    assert statuses_of(*books) == ["available"] * 3


def test_a_moderator_who_may_only_view_gets_no_actions(moderator):
    viewer = make_user("viewer")
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.set(moderator.user_permissions.filter(codename="view_book"))
    client = Client()
    client.force_login(viewer)
    book = share_at()

    page = client.get(BOOKS).content.decode()
    act(client, "hide_books", [book], confirm="yes", reason="Spam")

    assert "hide_books" not in page
    assert statuses_of(book) == ["available"]


def book_form(book: Book, **fields) -> dict:
    form = {
        "title": book.title,
        "author": book.author,
        "isbn": book.isbn,
        "description": book.description,
        "owner": book.owner_id,
        "place": book.place_id,
        "pictures-TOTAL_FORMS": 0,
        "pictures-INITIAL_FORMS": 0,
        "reports-TOTAL_FORMS": 0,
        "reports-INITIAL_FORMS": 0,
    }
    form.update(fields)
    return form


def test_the_status_cannot_be_edited_on_the_form(staff, moderator):
    book = share_at()
    hide_books([book.pk], moderator, "Spam")

    response = staff.post(
        f"{BOOKS}{book.pk}/change/", book_form(book, status="available", title="New")
    )

    assert response.status_code == 302
    book.refresh_from_db()
    assert (book.title, book.status) == ("New", "hidden")


def test_reports_are_shown_on_the_book_and_resolved_there(staff, moderator):
    book = share_at()
    open_one = report_book(book.pk, make_user("alice"), "Offensive cover")
    other = report_book(book.pk, make_user("bob"), "Wrong author")

    page = staff.get(f"{BOOKS}{book.pk}/change/").content.decode()
    assert "Offensive cover" in page and "Wrong author" in page

    reports = book.reports.order_by("-created_at", "-id")
    form = book_form(book, **{"reports-TOTAL_FORMS": 2, "reports-INITIAL_FORMS": 2})
    for n, report in enumerate(reports):
        form[f"reports-{n}-id"] = report.pk
        form[f"reports-{n}-book"] = book.pk
    resolved_index = list(reports).index(open_one)
    form[f"reports-{resolved_index}-resolve"] = "on"
    form[f"reports-{resolved_index}-note"] = "The cover is fine"
    response = staff.post(f"{BOOKS}{book.pk}/change/", form)

    assert response.status_code == 302
    open_one.refresh_from_db()
    other.refresh_from_db()
    assert (open_one.resolution, open_one.resolved_by) == (
        "The cover is fine",
        moderator,
    )
    assert other.resolved_at is None
    assert log_messages(open_one) == ["Resolved: The cover is fine"]
    assert statuses_of(book) == ["available"]


def test_reports_are_resolved_from_their_own_list(staff, moderator):
    book = share_at()
    reports = [report_book(book.pk, make_user(), "spam") for _ in range(2)]
    ids = [r.pk for r in reports]

    page = staff.post(
        "/admin/books/report/", {"action": "resolve_reports", "_selected_action": ids}
    )
    assert "Resolve these 2 reports?" in page.content.decode()
    staff.post(
        "/admin/books/report/",
        {
            "action": "resolve_reports",
            "_selected_action": ids,
            "confirm": "yes",
            "reason": "Checked",
        },
    )

    assert list(Report.objects.values_list("resolution", flat=True)) == ["Checked"] * 2
    assert LogEntry.objects.filter(user=moderator).count() == 2


def test_a_long_list_counts_no_further_than_the_cap(staff, monkeypatch):
    monkeypatch.setattr(admin_tables, "COUNT_CAP", 2)
    for n in range(3):
        share_at(title=f"Book {n}")

    with CaptureQueriesContext(connection) as queries:
        page = staff.get(BOOKS).content.decode()

    assert "more than 2 match" in page
    counts = [q["sql"] for q in queries if q["sql"].startswith("SELECT COUNT(")]
    assert counts and all("LIMIT 3" in sql for sql in counts)


def test_deleting_a_book_counts_what_goes_with_it(staff):
    superuser = make_user("root")
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    staff.force_login(superuser)
    book = share_at(title="Dune")
    for n in range(30):
        report_book(book.pk, make_user(f"reporter{n}"), f"complaint {n}")

    page = staff.get(f"{BOOKS}{book.pk}/delete/").content.decode()

    assert "<li>Reports: 30</li>" in page
    assert "complaint" not in page and "report 1 on book" not in page
    assert "book: Dune by Frank Herbert" in page


def test_books_cannot_be_deleted_in_bulk(staff):
    page = staff.get(BOOKS).content.decode()

    assert "delete_selected" not in page
    assert Event.objects.count() == 0


def test_reports_are_listed_open_or_resolved(staff, moderator):
    book = share_at()
    open_one = report_book(book.pk, make_user("alice"), "Still open")
    closed = report_book(book.pk, make_user("bob"), "Already handled")
    Report.objects.filter(pk=closed.pk).update(resolved_at=open_one.created_at)

    open_page = staff.get("/admin/books/report/?state=open").content.decode()
    closed_page = staff.get("/admin/books/report/?state=resolved").content.decode()

    assert "Still open" in open_page and "Already handled" not in open_page
    assert "Already handled" in closed_page and "Still open" not in closed_page
