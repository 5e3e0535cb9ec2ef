"""Share, sign-up and token requests are limited; the limit answers 429 JSON."""

import pytest
from rest_framework.test import APIClient

from books.models import Book
from tests.books.sharing import post_share, share_data
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    settings.THROTTLE_RATES = {"share": "2/min", "sign_up": "2/hour", "token": "2/min"}
    return settings.THROTTLE_RATES


def assert_throttled(response, retry_after_at_most: int) -> None:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "throttled"
    assert body["detail"].startswith("Request was throttled.")
    assert 1 <= int(response["Retry-After"]) <= retry_after_at_most


def test_a_third_share_in_a_minute_is_refused_and_not_stored(rates, client):
    for title in ("One", "Two"):
        assert post_share(client, share_data(title=title)).status_code == 201

    response = post_share(client, share_data(title="Three"))

    assert_throttled(response, 60)
    assert sorted(Book.objects.values_list("title", flat=True)) == ["One", "Two"]


def test_the_share_limit_counts_per_user(rates, client):
    for _ in range(2):
        post_share(client, share_data())
    other = APIClient()
    other.force_authenticate(make_user())

    assert post_share(other, share_data()).status_code == 201


def test_reading_books_is_not_counted_against_sharing(rates, client):
    for _ in range(5):
        assert client.get("/api/books/").status_code == 200

    assert post_share(client, share_data()).status_code == 201


def test_sign_ups_are_limited_per_address(rates):
    api = APIClient()
    for name in ("ann", "bob"):
        data = {"username": name, "password": "blue-ocean-parrot-81"}
        assert api.post("/api/users/", data, format="json").status_code == 201

    data = {"username": "cy", "password": "blue-ocean-parrot-81"}
    response = api.post("/api/users/", data, format="json")

    assert_throttled(response, 3600)
    # A forged X-Forwarded-For does not make a new address.
    forged = api.post(
        "/api/users/", data, format="json", HTTP_X_FORWARDED_FOR="10.1.2.3"
    )
    assert forged.status_code == 429


def test_token_requests_are_limited_wrong_passwords_included(rates):
    make_user("ada", password="correct-horse-42")
    api = APIClient()
    wrong = {"username": "ada", "password": "guess"}
    for _ in range(2):
        assert api.post("/api/auth/token/", wrong, format="json").status_code == 400

    right = {"username": "ada", "password": "correct-horse-42"}
    response = api.post("/api/auth/token/", right, format="json")

    assert_throttled(response, 60)


def test_a_rate_set_to_off_does_not_limit(settings, client):
    settings.THROTTLE_RATES = {"share": None, "sign_up": None, "token": None}

    statuses = {post_share(client, share_data()).status_code for _ in range(4)}

    assert statuses == {201}
