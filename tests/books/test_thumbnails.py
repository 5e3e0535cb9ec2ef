"""Thumbnails are made after the share, through the outbox, not in the request."""

import pytest
from PIL import Image

from books.models import Picture
from books.thumbnails import make_book_thumbnails
from outbox.models import Delivery
from tests.books.sharing import post_share, share_data
from tests.conftest import media_files, run_relay_until_idle
from tests.factories import jpeg_file

pytestmark = pytest.mark.django_db


def share_with_pictures(client, *sizes):
    pictures = [
        jpeg_file(f"{n}.jpg", width=w, height=h) for n, (w, h) in enumerate(sizes)
    ]
    response = post_share(client, share_data(pictures=pictures), format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def test_the_share_answers_before_thumbnails_exist(client):
    book = share_with_pictures(client, (1200, 900))

    assert [p["thumbnail_url"] for p in book["pictures"]] == [None]
    assert Delivery.objects.get(subscriber="books.make_thumbnails").state == "pending"


def test_thumbnails_are_made_in_the_background_and_served(client, media_root):
    book = share_with_pictures(client, (1200, 900), (300, 200))

    run_relay_until_idle()

    pictures = Picture.objects.filter(book_id=book["id"]).order_by("position")
    sizes = []
    for picture in pictures:
        with Image.open(picture.thumbnail.path) as thumbnail:
            sizes.append(thumbnail.size)
    # Fit within 320 x 320, keeping the shape; a small picture stays as it is.
    assert sizes == [(320, 240), (300, 200)]
    listed = client.get(f"/api/books/{book['id']}/").json()["pictures"]
    assert [p["thumbnail_url"] for p in listed] == [
        f"http://testserver/media/{p.thumbnail.name}" for p in pictures
    ]
    assert len(media_files(media_root)) == 4


def test_making_thumbnails_again_adds_no_files(client, media_root):
    book = share_with_pictures(client, (640, 480))
    run_relay_until_idle()
    files = media_files(media_root)

    assert make_book_thumbnails(book["id"]) == 0
    Picture.objects.update(thumbnail="")
    assert make_book_thumbnails(book["id"]) == 1

    assert media_files(media_root) == files
