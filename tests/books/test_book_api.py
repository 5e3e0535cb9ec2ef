"""Sharing, listing and reading books through the API (C3, C4, C5, C6)."""

import io
import random
import re
import unicodedata
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_q.models import OrmQ
from PIL import Image
from rest_framework.test import APIClient

from books.models import Book, Picture
from outbox.models import Event
from places.models import Place
from tests.books.sharing import (
    BOOKS_URL,
    assert_nothing_written,
    image_file,
    post_share,
    share_data,
    stored_image_size,
    topics_and_subscribers,
)
from tests.conftest import media_files
from tests.factories import jpeg_bytes, jpeg_file, make_place, make_user

pytestmark = pytest.mark.django_db

TITLE = "L'Étranger — 初版 📚"


# Several pictures and text in any script (C3)


def test_two_pictures_are_stored_in_upload_order_with_the_title_intact(
    client, media_root
):
    pictures = [jpeg_file("a.jpg", width=40, height=30), jpeg_file("b.jpg")]

    response = post_share(client, share_data(title=TITLE, pictures=pictures))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == TITLE
    assert TITLE.encode() in response.content
    book = Book.objects.get()
    assert book.title == TITLE
    assert [p["position"] for p in body["pictures"]] == [0, 1]
    stored = list(book.pictures.order_by("position"))
    assert [p.position for p in stored] == [0, 1]
    assert [stored_image_size(p) for p in stored] == [(40, 30), (32, 24)]
    assert [p["id"] for p in body["pictures"]] == [p.pk for p in stored]
    assert len(media_files(media_root)) == 2


def test_pictures_with_the_same_name_are_both_kept_in_order(client, media_root):
    pictures = [jpeg_file("a.jpg", width=40, height=30), jpeg_file("a.jpg")]

    response = post_share(client, share_data(pictures=pictures))

    assert response.status_code == 201, response.content
    stored = list(Book.objects.get().pictures.order_by("position"))
    assert [stored_image_size(p) for p in stored] == [(40, 30), (32, 24)]
    assert stored[0].image.name != stored[1].image.name
    assert len(media_files(media_root)) == 2


@pytest.mark.parametrize(
    "title",
    [
        TITLE,
        unicodedata.normalize("NFD", TITLE),
        "الغريب",
        "👩‍👩‍👧 𠀋 family",
        "📚" * 300,
    ],
    ids=["mixed", "decomposed", "arabic", "joined-emoji", "300-emoji"],
)
@pytest.mark.parametrize("format", ["multipart", "json"])
def test_title_in_any_script_is_stored_and_returned_as_sent(client, title, format):
    response = post_share(client, share_data(title=title), format=format)

    assert response.status_code == 201, response.content
    assert response.json()["title"] == title
    assert Book.objects.get().title == title
    assert client.get(f"{BOOKS_URL}{response.json()['id']}/").json()["title"] == title


# Upload limits that are not crossed (C4)


@pytest.mark.parametrize(
    "upload, size",
    [
        (lambda: image_file("p.png", "PNG"), (16, 12)),
        (lambda: image_file("g.gif", "GIF"), (16, 12)),
        (lambda: jpeg_file("j.jpeg"), (32, 24)),
    ],
    ids=["png", "gif", "jpeg-extension"],
)
def test_valid_images_of_other_formats_are_accepted(client, media_root, upload, size):
    response = post_share(client, share_data(pictures=[upload()]))

    assert response.status_code == 201, response.content
    assert stored_image_size(Picture.objects.get()) == size
    assert len(media_files(media_root)) == 1


def test_as_many_pictures_as_allowed_are_accepted(client, settings, media_root):
    count = settings.BOOKS["MAX_PICTURES"]
    pictures = [jpeg_file(f"{i}.jpg", width=10 + i) for i in range(count)]

    response = post_share(client, share_data(pictures=pictures))

    assert response.status_code == 201, response.content
    stored = Picture.objects.order_by("position")
    assert [stored_image_size(p)[0] for p in stored] == [10 + i for i in range(count)]
    assert len(media_files(media_root)) == count


@pytest.mark.parametrize(
    "limits", [{"MAX_PICTURES": 2}, {"MIN_PICTURES": 2}], ids=["max", "min"]
)
def test_picture_counts_at_the_limits_in_force_are_accepted(client, settings, limits):
    settings.BOOKS = {**settings.BOOKS, **limits}
    pictures = [jpeg_file("a.jpg"), jpeg_file("b.jpg")]

    response = post_share(client, share_data(pictures=pictures))

    assert response.status_code == 201, response.content
    assert Picture.objects.count() == 2


def test_a_picture_exactly_at_the_size_limit_is_accepted(client, settings):
    data = jpeg_bytes()
    settings.BOOKS = {**settings.BOOKS, "MAX_PICTURE_BYTES": len(data)}

    response = post_share(
        client, share_data(pictures=[SimpleUploadedFile("a.jpg", data)])
    )

    assert response.status_code == 201, response.content
    # Stored re-encoded (books.pictures), so compared by what it shows.
    assert stored_image_size(Picture.objects.get()) == (32, 24)


def test_a_3_mb_jpeg_is_accepted(client, media_root):
    noise = random.Random(3).randbytes(1700 * 1700 * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (1700, 1700), noise).save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    assert len(data) > 3 * 1024 * 1024

    response = post_share(
        client, share_data(pictures=[SimpleUploadedFile("big.jpg", data)])
    )

    assert response.status_code == 201, response.content
    assert stored_image_size(Picture.objects.get()) == (1700, 1700)
    assert len(media_files(media_root)) == 1


# Coordinates at the edges (C5, C6)


@pytest.mark.parametrize(
    "latitude, longitude",
    [("90", "180"), ("-90", "-180"), ("90.0", "-180.0"), ("-90", "180")],
)
def test_the_poles_and_the_antimeridian_are_accepted(client, latitude, longitude):
    response = post_share(client, share_data(latitude=latitude, longitude=longitude))

    assert response.status_code == 201, response.content
    place = Place.objects.get()
    assert (place.latitude, place.longitude) == (float(latitude), float(longitude))
    answer = response.json()["place"]
    assert (answer["latitude"], answer["longitude"]) == (
        float(latitude),
        float(longitude),
    )


@pytest.mark.parametrize(
    "latitude, longitude",
    [
        ("12.345678901234", "-179.999999"),
        ("-89.99999999999999", "179.99999999999997"),
        ("0.000001", "1e-7"),
        ("12.3456789012345678901", "-179.99999999999999999"),
    ],
)
@pytest.mark.parametrize("format", ["multipart", "json"])
def test_coordinates_keep_full_precision(client, latitude, longitude, format):
    if format == "json":
        latitude, longitude = float(latitude), float(longitude)

    response = post_share(
        client, share_data(latitude=latitude, longitude=longitude), format=format
    )

    assert response.status_code == 201, response.content
    expected = (float(latitude), float(longitude))
    answer = response.json()["place"]
    assert (answer["latitude"], answer["longitude"]) == expected
    place = Place.objects.get()
    assert (place.latitude, place.longitude) == expected
    again = client.get(f"/api/places/{place.pk}/").json()
    assert (again["latitude"], again["longitude"]) == expected


# Places, and the events a share publishes


def test_a_share_at_a_place_id_uses_that_place(client):
    place = make_place(48.8566, 2.3522, name="Gare du Nord shelf")

    response = post_share(client, {"title": "Dune", "author": "F", "place": place.pk})

    assert response.status_code == 201, response.content
    assert response.json()["place"]["id"] == place.pk
    assert Book.objects.get().place == place
    assert Place.objects.count() == 1
    assert topics_and_subscribers() == [
        ("book.shared", "books.make_thumbnails"),
        ("book.shared", "notifications.announce"),
    ]


def test_a_share_at_an_existing_point_reuses_its_place(client):
    place = make_place(48.8566, 2.3522, name="Gare du Nord shelf")
    data = share_data(latitude="48.8566", longitude="2.3522", place_name="Other")

    response = post_share(client, data)

    assert response.status_code == 201, response.content
    assert response.json()["place"] == {
        "id": place.pk,
        "name": "Gare du Nord shelf",
        "latitude": 48.8566,
        "longitude": 2.3522,
    }
    assert Place.objects.count() == 1
    assert topics_and_subscribers() == [
        ("book.shared", "books.make_thumbnails"),
        ("book.shared", "notifications.announce"),
    ]


def test_a_point_next_to_an_existing_place_is_a_new_place(client):
    make_place(48.8566, 2.3522)

    response = post_share(client, share_data(latitude="48.8566", longitude="2.352201"))

    assert response.status_code == 201, response.content
    assert Place.objects.count() == 2
    assert Book.objects.get().place.longitude == 2.352201


def test_a_share_at_a_new_point_creates_and_announces_the_place(client):
    data = share_data(latitude="52.52", longitude="13.405", place_name="Späti shelf")

    response = post_share(client, data)

    assert response.status_code == 201, response.content
    place = Place.objects.get()
    book = Book.objects.get()
    assert (place.name, place.latitude, place.longitude) == (
        "Späti shelf",
        52.52,
        13.405,
    )
    assert book.place == place
    assert topics_and_subscribers() == [
        ("book.shared", "books.make_thumbnails"),
        ("book.shared", "notifications.announce"),
        ("place.created", "places.store_distances"),
    ]
    payloads = dict(Event.objects.values_list("topic", "payload"))
    assert payloads == {
        "place.created": {"place_id": place.pk},
        "book.shared": {"book_id": book.pk},
    }


def test_a_committed_share_asks_the_cluster_for_one_drain(client):
    response = post_share(client, share_data(pictures=[jpeg_file()]))

    assert response.status_code == 201, response.content
    task = OrmQ.objects.get()
    assert task.task["func"] == "outbox.tasks.drain_outbox"


# ISBNs


@pytest.mark.parametrize(
    "sent, stored",
    [
        ("080442957X", "080442957X"),
        ("080442957x", "080442957X"),
        ("0-306-40615-2", "0306406152"),
        ("978-3-16-148410-0", "9783161484100"),
        ("978 3 16 148410 0", "9783161484100"),
        (" 979-10-90636-07-1 ", "9791090636071"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_valid_isbns_are_stored_without_separators(client, sent, stored):
    response = post_share(client, share_data(isbn=sent))

    assert response.status_code == 201, response.content
    assert response.json()["isbn"] == stored
    assert Book.objects.get().isbn == stored


def test_a_share_without_isbn_stores_a_blank_one(client):
    response = post_share(client, share_data())

    assert response.status_code == 201, response.content
    assert Book.objects.get().isbn == ""


# JSON shares


def test_a_json_share_without_pictures_is_accepted(client):
    data = share_data(latitude=-33.8688, longitude=151.2093, description="Worn")

    response = post_share(client, data, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["pictures"] == []
    assert (body["title"], body["description"]) == ("Dune", "Worn")
    assert (body["place"]["latitude"], body["place"]["longitude"]) == (
        -33.8688,
        151.2093,
    )
    assert Book.objects.get().pictures.count() == 0


# Who may share and read


@pytest.mark.parametrize(
    "authorization, code",
    [(None, "not_authenticated"), ("Token not-a-real-token", "authentication_failed")],
)
def test_sharing_needs_a_signed_in_user(
    anonymous_client, media_root, authorization, code
):
    if authorization:
        anonymous_client.credentials(HTTP_AUTHORIZATION=authorization)

    response = post_share(anonymous_client, share_data(pictures=[jpeg_file()]))

    assert response.status_code == 401
    body = response.json()
    assert body["code"] == code
    assert body["detail"]
    assert_nothing_written(media_root)


def test_anyone_can_list_and_read_books(client, anonymous_client):
    book_id = post_share(client, share_data(title=TITLE)).json()["id"]

    listed = anonymous_client.get(BOOKS_URL)
    detail = anonymous_client.get(f"{BOOKS_URL}{book_id}/")

    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["results"]] == [book_id]
    assert detail.status_code == 200
    assert detail.json()["title"] == TITLE


# Listing


def make_books(count: int) -> list[Book]:
    owner = make_user()
    place = make_place(1.0, 2.0)
    return [
        Book.objects.create(owner=owner, place=place, title=f"B{i}", author="A")
        for i in range(count)
    ]


def test_the_list_is_newest_first_and_paginated(anonymous_client):
    books = make_books(21)
    newest_first = [book.pk for book in reversed(books)]

    first = anonymous_client.get(BOOKS_URL).json()
    second = anonymous_client.get(first["next"]).json()

    assert first["count"] == 21
    assert [item["id"] for item in first["results"]] == newest_first[:20]
    assert first["next"].startswith("http://testserver/api/books/?page=2")
    assert [item["id"] for item in second["results"]] == newest_first[20:]
    assert second["next"] is None


def test_each_listed_book_has_its_place_and_absolute_picture_urls(
    client, anonymous_client, media_root
):
    pictures = [jpeg_file("front.jpg"), jpeg_file("back.jpg")]
    shared = post_share(client, share_data(place_name="Shelf", pictures=pictures))
    book_id = shared.json()["id"]

    item = anonymous_client.get(BOOKS_URL).json()["results"][0]

    assert item["id"] == book_id
    assert item["place"] == {
        "id": Place.objects.get().pk,
        "name": "Shelf",
        "latitude": 52.52,
        "longitude": 13.405,
    }
    urls = [picture["url"] for picture in item["pictures"]]
    prefix = f"http://testserver/media/books/{book_id}/"
    stored = [p.image.name for p in Picture.objects.filter(book=book_id)]
    assert urls == [f"http://testserver/media/{name}" for name in stored]
    # Files get random names: the client's names do not reach the URLs.
    names = [url.removeprefix(prefix) for url in urls]
    assert all(re.fullmatch(r"[0-9a-f]{32}\.jpg", name) for name in names)
    for url in urls:
        assert (
            Path(media_root) / url.removeprefix("http://testserver/media/")
        ).is_file()


@pytest.mark.parametrize("status", [Book.Status.HIDDEN, Book.Status.WITHDRAWN])
def test_books_not_available_are_not_listed_and_only_their_owner_sees_them(
    client, user, anonymous_client, status
):
    visible = post_share(client, share_data(title="Visible")).json()["id"]
    hidden = post_share(client, share_data(title="Hidden")).json()["id"]
    Book.objects.filter(pk=hidden).update(status=status)
    stranger = APIClient()
    stranger.force_authenticate(make_user())

    for reader in (client, anonymous_client, stranger):
        listed = reader.get(BOOKS_URL).json()
        assert [item["id"] for item in listed["results"]] == [visible]
        assert listed["count"] == 1

    assert anonymous_client.get(f"{BOOKS_URL}{hidden}/").status_code == 404
    assert stranger.get(f"{BOOKS_URL}{hidden}/").status_code == 404
    own = client.get(f"{BOOKS_URL}{hidden}/")
    assert own.status_code == 200
    assert (own.json()["id"], own.json()["status"]) == (hidden, status)


@pytest.mark.parametrize("page", ["2", "0", "last-but-one"])
def test_a_page_past_the_end_is_a_json_404(anonymous_client, page):
    make_books(3)

    response = anonymous_client.get(BOOKS_URL, {"page": page})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("book_id", ["999999", "abc", "0"])
def test_an_unknown_book_is_a_json_404_with_detail_and_code(anonymous_client, book_id):
    response = anonymous_client.get(f"{BOOKS_URL}{book_id}/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["detail"]
    assert body["code"] == "not_found"
