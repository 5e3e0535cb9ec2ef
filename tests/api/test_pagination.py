"""Lists are paged with ``page`` and ``page_size``; nonsense is refused or clamped."""

import pytest

from books.models import Book
from tests.factories import make_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(user):
    place = make_place()
    Book.objects.bulk_create(
        Book(title=f"Book {n}", author="A", owner=user, place=place) for n in range(25)
    )


def listed(anonymous_client, query: str):
    return anonymous_client.get(f"/api/books/?{query}")


def test_page_size_chooses_the_page_length(books, anonymous_client):
    body = listed(anonymous_client, "page_size=5&page=2").json()

    assert body["count"] == 25
    assert len(body["results"]) == 5
    assert "page=3" in body["next"] and "page_size=5" in body["next"]


@pytest.mark.parametrize(
    ("page_size", "length"),
    [
        ("1000", 25),
        ("100000000000000000000", 25),
        ("0", 20),
        ("-3", 20),
        ("abc", 20),
        ("", 20),
        ("2.5", 20),
    ],
)
def test_a_nonsense_page_size_is_clamped_or_ignored(
    books, anonymous_client, settings, page_size, length
):
    response = listed(anonymous_client, f"page_size={page_size}")

    assert response.status_code == 200
    assert len(response.json()["results"]) == length


def test_page_size_is_capped_at_100(user, anonymous_client):
    place = make_place()
    Book.objects.bulk_create(
        Book(title=f"B{n}", author="A", owner=user, place=place) for n in range(105)
    )

    response = listed(anonymous_client, "page_size=500")

    assert len(response.json()["results"]) == 100


@pytest.mark.parametrize(
    "page", ["0", "-1", "abc", "3", "99999999999999999999", "1.5", "9" * 5000, "%00"]
)
def test_a_page_that_does_not_exist_is_a_json_404(books, anonymous_client, page):
    response = listed(anonymous_client, f"page_size=20&page={page}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page.", "code": "not_found"}


def test_the_last_page_can_be_named(books, anonymous_client):
    body = listed(anonymous_client, "page=last").json()

    assert [b["title"] for b in body["results"]] == [
        f"Book {n}" for n in range(4, -1, -1)
    ]
