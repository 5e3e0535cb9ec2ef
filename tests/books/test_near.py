"""Books near a point: ``GET /api/books/?near=LAT,LON&radius_km=R&search=...``."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from geopy.distance import geodesic

from books.models import Book, Picture
from tests.books.sharing import BOOKS_URL
from tests.factories import make_place, make_user

pytestmark = pytest.mark.django_db

ORIGIN = (48.8566, 2.3522)
NEAR = "48.8566,2.3522"


@pytest.fixture
def owner(db):
    return make_user()


def make_book(owner, latitude, longitude, title="Dune", author="Frank Herbert", **kw):
    place = make_place(latitude, longitude)
    return Book.objects.create(
        owner=owner, place=place, title=title, author=author, **kw
    )


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_books_come_nearest_first_with_their_geodesic_distance(anonymous_client, owner):
    far = make_book(owner, 49.1, 2.3522)  # 27 km north
    beyond = make_book(owner, 49.4, 2.3522)  # 60 km north
    nearest = make_book(owner, 48.86, 2.36)
    middle = make_book(owner, 48.8566, 2.5)  # 11 km east

    response = anonymous_client.get(BOOKS_URL, {"near": NEAR, "radius_km": "50"})

    assert ids(response) == [nearest.pk, middle.pk, far.pk]
    body = response.json()
    assert body["count"] == 3
    for item, book in zip(body["results"], [nearest, middle, far], strict=True):
        point = (book.place.latitude, book.place.longitude)
        assert item["distance_m"] == geodesic(ORIGIN, point).meters
    assert body["results"][2]["distance_m"] == pytest.approx(27_068.3, abs=1)
    assert beyond.pk not in ids(response)


def test_each_item_is_a_whole_book_with_its_place_and_pictures(anonymous_client, owner):
    book = make_book(owner, 48.86, 2.36, title="L'Étranger", author="Camus")
    Picture.objects.create(book=book, position=0, image="books/1/a.jpg")

    (item,) = anonymous_client.get(BOOKS_URL, {"near": NEAR}).json()["results"]

    assert item["title"] == "L'Étranger"
    assert item["owner"] == owner.username
    assert item["place"]["id"] == book.place_id
    assert [p["url"] for p in item["pictures"]] == [
        "http://testserver/media/books/1/a.jpg"
    ]
    assert item["distance_m"] == pytest.approx(686.0, abs=1)


def test_books_at_one_place_come_newest_first(anonymous_client, owner):
    place = make_place(48.87, 2.36)
    older, newer = (
        Book.objects.create(owner=owner, place=place, title=t, author="A")
        for t in ("older", "newer")
    )
    closer = make_book(owner, 48.8567, 2.3522)

    response = anonymous_client.get(BOOKS_URL, {"near": NEAR})

    assert ids(response) == [closer.pk, newer.pk, older.pk]


def test_the_radius_defaults_to_the_largest_one(anonymous_client, owner, settings):
    settings.PLACES = {**settings.PLACES, "DISTANCE_RADIUS_KM": 30}
    inside = make_book(owner, 49.1, 2.3522)  # 27 km
    make_book(owner, 49.15, 2.3522)  # 32.6 km

    assert ids(anonymous_client.get(BOOKS_URL, {"near": NEAR})) == [inside.pk]


def test_a_smaller_radius_narrows_the_list(anonymous_client, owner):
    inside = make_book(owner, 48.86, 2.36)
    make_book(owner, 48.8566, 2.5)  # 11 km

    response = anonymous_client.get(BOOKS_URL, {"near": NEAR, "radius_km": "10.5"})

    assert ids(response) == [inside.pk]


@pytest.mark.parametrize("status", [Book.Status.HIDDEN, Book.Status.WITHDRAWN])
def test_books_not_available_are_not_near_anything(
    client, anonymous_client, owner, status
):
    visible = make_book(owner, 48.86, 2.36)
    make_book(owner, 48.86, 2.35, status=status)

    for reader in (anonymous_client, client):
        response = reader.get(BOOKS_URL, {"near": NEAR})
        assert ids(response) == [visible.pk]
        assert response.json()["count"] == 1


def test_books_across_the_antimeridian_and_near_a_pole_are_found(
    anonymous_client, owner
):
    west = make_book(owner, -16.8, -179.99)
    east = make_book(owner, -16.8, 179.98)
    polar = make_book(owner, 89.99, -120.0)
    other_polar = make_book(owner, 89.98, 60.0)

    fiji = anonymous_client.get(BOOKS_URL, {"near": "-16.8,179.995"})
    pole = anonymous_client.get(BOOKS_URL, {"near": "90,0", "radius_km": "5"})

    assert ids(fiji) == [west.pk, east.pk]
    assert ids(pole) == [polar.pk, other_polar.pk]
    assert pole.json()["results"][1]["distance_m"] == pytest.approx(2233.9, abs=1)


def test_pages_follow_each_other_in_distance_order(anonymous_client, owner):
    books = [make_book(owner, 48.8566 + n / 2000, 2.3522) for n in range(45)]

    first = anonymous_client.get(BOOKS_URL, {"near": NEAR, "radius_km": "40"})
    second = anonymous_client.get(first.json()["next"])
    third = anonymous_client.get(second.json()["next"])

    assert first.json()["count"] == 45
    assert ids(first) + ids(second) + ids(third) == [book.pk for book in books]
    assert third.json()["next"] is None
    assert "near=48.8566%2C2.3522" in first.json()["next"]
    assert "radius_km=40" in first.json()["next"]
    distances = [
        item["distance_m"]
        for page in (first, second, third)
        for item in page.json()["results"]
    ]
    assert distances == sorted(distances)


def test_a_page_past_the_end_is_a_json_404(anonymous_client, owner):
    make_book(owner, 48.86, 2.36)

    response = anonymous_client.get(BOOKS_URL, {"near": NEAR, "page": "2"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_nothing_near_is_an_empty_page(anonymous_client, owner):
    make_book(owner, 0.0, 0.0)

    body = anonymous_client.get(BOOKS_URL, {"near": NEAR}).json()

    assert (body["count"], body["results"]) == (0, [])


# Search


@pytest.fixture
def library(owner):
    return {
        "dune": make_book(owner, 48.86, 2.36, "Dune", "Frank Herbert"),
        "stranger": make_book(owner, 48.87, 2.36, "L'Étranger", "Albert Camus"),
        "plague": make_book(owner, 48.88, 2.36, "La Peste", "Albert Camus"),
        "far_plague": make_book(owner, 52.52, 13.4, "Die Pest", "Albert Camus"),
    }


@pytest.mark.parametrize(
    "search, expected",
    [
        ("camus", ["far_plague", "plague", "stranger"]),
        ("DUNE", ["dune"]),
        ("albert peste", ["plague"]),
        ("herbert camus", []),
        ("Étranger", ["stranger"]),
        ("", ["far_plague", "plague", "stranger", "dune"]),
    ],
)
def test_search_matches_every_word_in_title_or_author(
    anonymous_client, library, search, expected
):
    response = anonymous_client.get(BOOKS_URL, {"search": search})

    assert ids(response) == [library[name].pk for name in expected]


def test_search_and_near_together(anonymous_client, library):
    response = anonymous_client.get(BOOKS_URL, {"near": NEAR, "search": "camus"})

    assert ids(response) == [library["stranger"].pk, library["plague"].pk]
    assert response.json()["count"] == 2


def test_a_search_with_a_null_character_is_a_400_naming_it(anonymous_client):
    response = anonymous_client.get(BOOKS_URL, {"search": "du\x00ne"})

    assert response.status_code == 400
    assert list(response.json()) == ["search"]


# Bad parameters: a 400 naming the parameter, never a 500 or another point


@pytest.mark.parametrize(
    "value",
    [
        "91,0",
        "-90.0001,0",
        "0,180.5",
        "0,-181",
        "NaN,0",
        "0,nan",
        "inf,0",
        "1e400,0",
        "48,8566,2,3522",  # comma decimals
        "48,8566",  # comma decimal without a longitude: read as (48, 8566)
        "48.8566;2.3522",
        "48.8566",
        "48.8566,2.3522,",
        "48.8566 2.3522",
        "",
        ",",
        "1_5,0",
        "١٥,٠",  # Arabic-Indic digits
        "0x10,0",
        "abc,def",
        "48.8566,",
    ],
)
def test_a_bad_near_is_a_400_naming_near(anonymous_client, owner, value):
    make_book(owner, 48.86, 2.36)

    response = anonymous_client.get(BOOKS_URL, {"near": value})

    assert response.status_code == 400, value
    body = response.json()
    assert list(body) == ["near"]
    assert all(isinstance(message, str) and message for message in body["near"])


@pytest.mark.parametrize(
    "value, message",
    [
        ("91,0", "Latitude: Ensure this value is less than or equal to 90."),
        ("0,-181", "Longitude: Ensure this value is greater than or equal to -180."),
        ("NaN,0", "Latitude: A valid number is required."),
        ("48,8566,2,3522", 'Enter "latitude,longitude" in decimal degrees'),
    ],
)
def test_the_message_says_what_to_fix(anonymous_client, value, message):
    (error,) = anonymous_client.get(BOOKS_URL, {"near": value}).json()["near"]

    assert error.startswith(message)


@pytest.mark.parametrize(
    "value", ["-1", "51", "abc", "NaN", "inf", "1,5", "", "1_0", "５"]
)
def test_a_bad_radius_is_a_400_naming_radius_km(anonymous_client, value):
    response = anonymous_client.get(BOOKS_URL, {"near": NEAR, "radius_km": value})

    assert response.status_code == 400, value
    assert list(response.json()) == ["radius_km"]


def test_a_radius_above_the_largest_says_which_is_the_largest(anonymous_client):
    response = anonymous_client.get(BOOKS_URL, {"near": NEAR, "radius_km": "50.5"})

    assert response.json() == {
        "radius_km": ["Ensure this value is less than or equal to 50."]
    }


def test_a_radius_without_near_is_a_400(anonymous_client):
    response = anonymous_client.get(BOOKS_URL, {"radius_km": "5"})

    assert response.status_code == 400
    assert list(response.json()) == ["radius_km"]


@pytest.mark.parametrize("name", ["near", "radius_km"])
def test_a_parameter_given_twice_is_a_400(anonymous_client, name):
    query = f"near={NEAR}&radius_km=5&{name}={'1,1' if name == 'near' else '6'}"

    response = anonymous_client.get(f"{BOOKS_URL}?{query}")

    assert response.status_code == 400
    assert response.json() == {name: ["Give this parameter once."]}


@pytest.mark.parametrize(
    "near, radius_km",
    [("90,180", "0"), ("-90,-180", "50"), (" 48.8566 , 2.3522 ", "1")],
)
def test_edge_values_are_accepted(anonymous_client, near, radius_km):
    response = anonymous_client.get(BOOKS_URL, {"near": near, "radius_km": radius_km})

    assert response.status_code == 200


# Cost


def count_queries(client, page: int) -> int:
    query = {"near": NEAR, "radius_km": "50", "page": page}
    with CaptureQueriesContext(connection) as queries:
        response = client.get(BOOKS_URL, query)
    assert response.status_code == 200
    return len(queries)


def add_books(owner, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        book = make_book(owner, 48.8566 + n / 5000, 2.3522 + n / 7000, title=f"B{n}")
        Picture.objects.create(book=book, position=0, image=f"books/{n}/a.jpg")
        Picture.objects.create(book=book, position=1, image=f"books/{n}/b.jpg")


def test_the_number_of_queries_is_the_same_for_every_page_and_size(
    anonymous_client, owner
):
    add_books(owner, 30)
    small = [count_queries(anonymous_client, page) for page in (1, 2)]
    add_books(owner, 50, start=30)

    large = [count_queries(anonymous_client, page) for page in (1, 2, 4)]

    # The ranked ids with the count, the page's books, their pictures.
    assert small == large[:2] == [3, 3]
    assert large == [3, 3, 3]
