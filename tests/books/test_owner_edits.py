"""Only a book's owner edits (PATCH) or withdraws (DELETE) it.

Another user's shown book answers 403 to writes; a book not shown (hidden,
withdrawn, waiting for review) answers 404 to everyone but its owner and staff.
"""

import pytest
from django.test import TestCase
from rest_framework.test import APIClient

from books import services
from books.models import Book
from books.services import withdraw_book
from outbox.models import Event
from tests.factories import make_place, make_user

pytestmark = pytest.mark.django_db


def make_book(owner, status=Book.Status.AVAILABLE, **fields) -> Book:
    return Book.objects.create(
        owner=owner,
        place=make_place(),
        title=fields.pop("title", "Dune"),
        author=fields.pop("author", "Frank Herbert"),
        status=status,
        **fields,
    )


def signed_in(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def url(book: Book) -> str:
    return f"/api/books/{book.pk}/"


def withdrawn_events() -> list[dict]:
    return list(
        Event.objects.filter(topic="book.withdrawn").values_list("payload", flat=True)
    )


def delete(api, book):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return api.delete(url(book))


# Editing


def test_the_owner_edits_the_text_of_a_book(user, client):
    book = make_book(user)

    response = client.patch(
        url(book),
        {"title": "L'Étranger — 初版 📚", "isbn": "978-2-07-036002-4"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["title"] == "L'Étranger — 初版 📚"
    assert response.json()["isbn"] == "9782070360024"
    book.refresh_from_db()
    assert (book.title, book.author, book.isbn) == (
        "L'Étranger — 初版 📚",
        "Frank Herbert",
        "9782070360024",
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"isbn": "978-2-07-036002-5"}, "isbn"),
        ({"status": "available"}, "status"),
        ({"place": 1}, "place"),
        ({"owner": "someone"}, "owner"),
    ],
)
def test_a_bad_or_unknown_field_is_refused_not_dropped(user, client, data, field):
    book = make_book(user)

    response = client.patch(url(book), data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    book.refresh_from_db()
    assert (book.title, book.status) == ("Dune", Book.Status.AVAILABLE)


def test_a_body_that_is_not_an_object_is_refused(user, client):
    book = make_book(user)

    response = client.patch(url(book), ["title"], format="json")

    assert response.status_code == 400
    assert response.json()["non_field_errors"]


def test_another_user_may_not_edit_a_shown_book(user):
    book = make_book(user)

    response = signed_in(make_user()).patch(url(book), {"title": "Mine"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    book.refresh_from_db()
    assert book.title == "Dune"


def test_staff_may_not_edit_someone_elses_book_either(user):
    book = make_book(user)
    staff = make_user()
    staff.is_staff = True
    staff.save()

    response = signed_in(staff).patch(url(book), {"title": "X"}, format="json")

    assert response.status_code == 403


def test_editing_needs_credentials(user, anonymous_client):
    book = make_book(user)

    response = anonymous_client.patch(url(book), {"title": "X"}, format="json")

    assert response.status_code == 401


def test_put_is_not_offered(user, client):
    response = client.put(url(make_book(user)), {"title": "X"}, format="json")

    assert response.status_code == 405


# Withdrawing


def test_the_owner_withdraws_a_book_and_an_event_is_published(user, client):
    book = make_book(user)

    response = delete(client, book)

    assert response.status_code == 204
    book.refresh_from_db()
    assert book.status == Book.Status.WITHDRAWN
    assert withdrawn_events() == [{"book_id": book.pk}]
    assert client.get("/api/books/").json()["results"] == []
    assert client.get(url(book)).json()["status"] == "withdrawn"
    assert signed_in(make_user()).get(url(book)).status_code == 404


def test_withdrawing_twice_publishes_once(user, client):
    book = make_book(user)

    first, second = delete(client, book), delete(client, book)

    assert (first.status_code, second.status_code) == (204, 204)
    assert withdrawn_events() == [{"book_id": book.pk}]


def test_another_user_may_not_withdraw_a_book(user):
    book = make_book(user)

    response = delete(signed_in(make_user()), book)

    assert response.status_code == 403
    book.refresh_from_db()
    assert book.status == Book.Status.AVAILABLE
    assert withdrawn_events() == []


def test_a_failed_publish_leaves_the_book_shown(user, monkeypatch):
    book = make_book(user)

    def broken(*args, **kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(services, "publish", broken)

    with pytest.raises(RuntimeError):
        withdraw_book(book.pk, user)
    book.refresh_from_db()
    assert book.status == Book.Status.AVAILABLE


# Books not shown


@pytest.mark.parametrize(
    "status",
    [Book.Status.HIDDEN, Book.Status.WITHDRAWN, Book.Status.PENDING_REVIEW],
)
def test_a_book_not_shown_is_not_found_by_others(user, status):
    book = make_book(user, status=status)
    other = signed_in(make_user())

    assert other.get(url(book)).status_code == 404
    assert APIClient().get(url(book)).status_code == 404
    assert other.patch(url(book), {"title": "X"}, format="json").status_code == 404
    assert delete(other, book).status_code == 404
    assert other.post(f"{url(book)}report/", {"reason": "r"}).status_code == 404
    book.refresh_from_db()
    assert (book.title, book.status) == ("Dune", status)


def test_a_hidden_book_is_shown_to_its_owner_and_to_staff(user, client):
    book = make_book(user, status=Book.Status.HIDDEN)
    staff = make_user()
    staff.is_staff = True
    staff.save()

    assert client.get(url(book)).json()["status"] == "hidden"
    assert signed_in(staff).get(url(book)).json()["status"] == "hidden"
    assert staff.pk != user.pk


def test_an_unknown_id_is_not_found(client):
    for path in ("/api/books/999999/", "/api/books/abc/", "/api/books/-1/"):
        assert client.patch(path, {"title": "X"}, format="json").status_code == 404
        assert client.delete(path).status_code == 404
