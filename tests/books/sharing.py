"""Helpers for the book API tests: a valid share, and proof that nothing was written."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django_q.models import OrmQ
from PIL import Image

from books.models import Book, Picture
from outbox.models import Delivery, Event
from places.models import Place
from tests.conftest import media_files

BOOKS_URL = "/api/books/"


def share_data(**fields) -> dict:
    """A valid share at a new point, without pictures; ``fields`` override it."""
    return {
        "title": "Dune",
        "author": "Frank Herbert",
        "latitude": "52.52",
        "longitude": "13.405",
        **fields,
    }


def post_share(client, data, **kwargs):
    """POST a share and run what would run on commit (the broker nudge)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(BOOKS_URL, data, **kwargs)


def written_rows() -> dict:
    return {
        "books": Book.objects.count(),
        "pictures": Picture.objects.count(),
        "places": Place.objects.count(),
        "events": Event.objects.count(),
        "deliveries": Delivery.objects.count(),
        "tasks": OrmQ.objects.count(),
    }


def assert_nothing_written(media_root, places: int = 0) -> None:
    """No row, outbox entry, broker task or file; ``places`` existed before."""
    nothing = {
        "books": 0,
        "pictures": 0,
        "places": places,
        "events": 0,
        "deliveries": 0,
        "tasks": 0,
    }
    assert written_rows() == nothing
    assert media_files(media_root) == []


def image_file(name: str, image_format: str, size=(16, 12)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "green").save(buffer, image_format)
    return SimpleUploadedFile(name, buffer.getvalue())


def stored_image_size(picture: Picture) -> tuple[int, int]:
    with Image.open(picture.image.path) as image:
        return image.size


def topics_and_subscribers() -> list[tuple[str, str]]:
    return sorted(Delivery.objects.values_list("event__topic", "subscriber"))
