"""POST /api/books/{id}/report/: once per user, shown books only, the API's errors."""

import pytest
from rest_framework.test import APIClient

from books.models import Book, Report
from tests.books.moderating import share_at
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def report_url(book_id) -> str:
    return f"/api/books/{book_id}/report/"


def test_a_signed_in_user_reports_a_book(client, user):
    book = share_at()

    response = client.post(report_url(book.pk), {"reason": "Offensive cover"})

    assert response.status_code == 201
    body = response.json()
    assert (body["book"], body["reason"]) == (book.pk, "Offensive cover")
    report = Report.objects.get()
    assert (report.book, report.reporter, report.resolved_at) == (book, user, None)


def test_a_second_report_by_the_same_user_is_refused(client):
    book = share_at()
    client.post(report_url(book.pk), {"reason": "Spam"})

    response = client.post(report_url(book.pk), {"reason": "Spam, really"})

    assert response.status_code == 409
    assert response.json() == {
        "detail": "You have already reported this book.",
        "code": "already_reported",
    }
    assert Report.objects.count() == 1


def test_other_users_report_the_same_book(client):
    book = share_at()
    client.post(report_url(book.pk), {"reason": "Spam"})
    other = APIClient()
    other.force_authenticate(make_user())

    assert other.post(report_url(book.pk), {"reason": "Spam"}).status_code == 201
    assert Report.objects.filter(book=book).count() == 2


@pytest.mark.parametrize(
    "status", [Book.Status.HIDDEN, Book.Status.WITHDRAWN, Book.Status.PENDING_REVIEW]
)
def test_a_book_not_shown_is_not_found(client, status):
    book = share_at()
    Book.objects.filter(pk=book.pk).update(status=status)

    response = client.post(report_url(book.pk), {"reason": "Spam"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Report.objects.count() == 0


@pytest.mark.parametrize("book_id", ["999999", "abc", "１"])
def test_an_unknown_book_is_not_found(client, book_id):
    response = client.post(report_url(book_id), {"reason": "Spam"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_anonymous_report_is_refused(anonymous_client):
    book = share_at()

    response = anonymous_client.post(report_url(book.pk), {"reason": "Spam"})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "This field is required."),
        ({"reason": "   "}, "This field may not be blank."),
        ({"reason": "x" * 1001}, "Ensure this field has no more than 1000 characters."),
    ],
)
def test_a_report_needs_a_reason(client, data, message):
    book = share_at()

    response = client.post(report_url(book.pk), data, format="json")

    assert response.status_code == 400
    assert response.json() == {"reason": [message]}
    assert Report.objects.count() == 0
